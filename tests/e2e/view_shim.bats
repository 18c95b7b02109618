#!/usr/bin/env bats
# urunc-view-shim behind containerd 1.6: `ctr run --runc-binary <shim>` (runtime
# io.containerd.runc.v2), real QEMU under TCG. The shim asks containerd for one read-only
# View of the image's committed snapshot, shared by every container of that image, mounts
# it under the views directory, pins it on each container with a gc.ref label, and names it
# in com.urunc.unikernel.snapshotView. A private containerd (containerd_private.bash: own
# root, state, sockets, namespace) with the blocksnap proxy snapshotter (blockfile's
# semantics: one ext4 image file per snapshot, loop mounts) runs in the namespace that hides
# /dev/kvm; the same images also run on its overlayfs snapshotter. The shim and urunc
# inherit URUNC_CONFIG from containerd, so a test changes the host config by rewriting it.

bats_require_minimum_version 1.5.0
load e2e_helpers
load containerd_private

setup_file() {
	e2e_setup_file || return 0
	cpriv_need || return 0
	SHIM=$URUNC_BUILD/src/shim/urunc-view-shim
	[ -x "$SHIM" ] || { e2e_skip_file "the shim is not built ($SHIM)"; return 0; }
	VIEWS=$E2E_T/views
	KILL_AT=$E2E_T/kill-at               # the shim's test-only step hook reads it
	HELPER_AT=$E2E_T/helper-at           # test builds: the helper path, when this file exists
	OV_IMAGE=localhost/urunc-view-ov:$E2E_SFX
	BLK_IMAGE=localhost/urunc-view-blk:$E2E_SFX
	export SHIM VIEWS KILL_AT HELPER_AT OV_IMAGE BLK_IMAGE
	base_config
	CPRIV_ENV="URUNC_CONFIG=$E2E_T/urunc.toml URUNC_VIEW_SHIM_KILL_AT=$KILL_AT URUNC_VIEW_SHIM_HELPER_AT=$HELPER_AT"
	export CPRIV_ENV
	cpriv_start || return 1

	# The kernel padded to 8 MiB of real data, so that a copy would show as a file of that
	# size (the multiboot loader reads only the ELF segments).
	cp "$TESTKERNEL" "$E2E_T/kernel"
	head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' U >>"$E2E_T/kernel"
	KSIZE=$(stat -c %s "$E2E_T/kernel")
	export KSIZE
	# overlayfs: a unikraft-style guest without a block rootfs; blocksnap: a guest that
	# takes the container's block device (linux, mountRootfs).
	# Its urunc.json also names a snapshotView, as a hostile image would (never used).
	CPRIV_KERNEL=$E2E_T/kernel cpriv_import_unikernel_image --snapshotter overlayfs "$OV_IMAGE" \
		unikernelType=unikraft mountRootfs= snapshotView=/etc
	CPRIV_KERNEL=$E2E_T/kernel cpriv_import_unikernel_image --snapshotter blocksnap "$BLK_IMAGE"
}

teardown_file() {
	[ -n "${E2E_T:-}" ] || return 0
	cpriv_stop
	e2e_rm_tmp
}

setup() {
	e2e_setup
	base_config
	rm -f "$KILL_AT" "$HELPER_AT"
	SNAP=overlayfs
	export SNAP
}

# Every test removes what it started, even when it failed.
teardown() {
	local id s
	[ -n "${CPRIV_DIR:-}" ] && [ -f "$CPRIV_DIR/ids" ] || return 0
	rm -f "$KILL_AT" "$HELPER_AT"
	base_config
	while read -r id; do
		[ -n "$id" ] || continue
		cpriv_ctr tasks kill -s KILL "$id" >/dev/null 2>&1 || true
		cpriv_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
		cpriv_ctr containers delete "$id" >/dev/null 2>&1 || true
	done <"$CPRIV_DIR/ids"
	# snapshots a test made itself ("<snapshotter> <key>")
	while read -r s id; do
		[ -n "$id" ] && cpriv_ctr snapshots --snapshotter "$s" rm "$id" >/dev/null 2>&1 || true
	done <"$E2E_T/snaps" 2>/dev/null || true
}

# The host config the shim and urunc read: views under $VIEWS (and so allowed there only).
base_config() {
	printf '[snapshot_view]\nviews_dir = "%s"\n[view_shim]\nurunc_path = "%s"\n%s' \
		"$VIEWS" "$URUNC" "${1:-}" >"$E2E_T/urunc.toml"
}

# ctr_run <--flag...> <id> [args...]: `ctr run` of the image for $SNAP through the runc v2
# shim with the view shim as its runtime binary.
ctr_run() {
	local image=$OV_IMAGE
	[ "$SNAP" = overlayfs ] || image=$BLK_IMAGE
	CPRIV_SNAPSHOTTER=$SNAP CPRIV_IMAGE=$image CPRIV_RUNC_BINARY=$SHIM cpriv_run "$@"
}

# run_detached <id> [ctr flags...]: start the container in the background; its output goes
# to $E2E_T/<id>.out. Waits until the guest has finished (the test kernel exits at once), so
# the container still exists, stopped, with its bundle, state and view.
run_detached() {
	local id=$1
	shift
	ctr_run -d --log-uri="file://$E2E_T/$id.out" "$@" "$id" || return 1
	e2e_wait 60 task_stopped "$id" || { echo "task $id did not stop"; cpriv_ctr tasks ls; return 1; }
}

task_stopped() { cpriv_ctr tasks ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }

bundle() { echo "$CPRIV_DIR/state/io.containerd.runtime.v2.task/$CPRIV_NS/$1"; }

# remove <id>: what a user does after the container ran: task delete, container delete.
remove() {
	cpriv_ctr tasks delete "$1" >/dev/null || return 1
	cpriv_ctr containers delete "$1"
}

snapshots() { cpriv_ctr snapshots --snapshotter "$SNAP" ls; }

view_snapshots() { snapshots | awk '$1 ~ /^urunc-view-/ { print $1 }'; }

pin_label() { echo "containerd.io/gc.ref.snapshot.$SNAP/urunc-view"; }

view_mounts() { nsenter -t "$CPRIV_PID" -m findmnt -rn -o TARGET,SOURCE | grep -F "$VIEWS/" || true; }

# assert_nothing_left: no view snapshot, lease, pin label, mount, loop device, marker or
# lock file.
assert_nothing_left() {
	local left
	left=$(view_snapshots)
	[ -z "$left" ] || { echo "view snapshots left: $left"; return 1; }
	left=$(cpriv_ctr leases ls -q | grep '^urunc-view-' || true)
	[ -z "$left" ] || { echo "leases left: $left"; return 1; }
	left=$(cpriv_ctr containers ls -q "labels.\"$(pin_label)\"" || true)
	[ -z "$left" ] || { echo "pinned containers left: $left"; return 1; }
	left=$(view_mounts)
	[ -z "$left" ] || { echo "view mounts left: $left"; return 1; }
	left=$(find "$VIEWS" -mindepth 1 -not -path "$VIEWS/containers" 2>/dev/null || true)
	[ -z "$left" ] || { echo "left under the views directory: $left"; return 1; }
	# a view's loop device goes with its unmount (autoclear); containers' with their delete
	e2e_wait 10 no_loops || { echo "loop devices left: $(cpriv_loops)"; return 1; }
}

no_loops() { [ -z "$(cpriv_loops)" ]; }

@test "overlayfs: one view feeds the artifacts, pinned by the container, gone after delete" {
	local id=ov1-$E2E_SFX b view key
	run_detached "$id"
	cat "$E2E_T/$id.out"
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	view=$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")
	[[ $view == "$VIEWS"/* ]] || { echo "annotation: $view"; false; }
	# urunc took the artifacts from that view (its log, in the bundle's log.json)
	grep -F "boot artifacts from view $view" "$b/log.json" || { cat "$b/log.json"; false; }
	! grep -qi "copied" "$b/log.json" || { cat "$b/log.json"; false; }
	# one view snapshot, read-only mount at the annotation's path, pinned by a label
	key=$(view_snapshots)
	[ "$(wc -l <<<"$key")" = 1 ] && [[ $key == urunc-view-* ]] || { echo "views: $key"; false; }
	[ "$(cpriv_ctr snapshots --snapshotter "$SNAP" info "$key" | jq -r .Kind)" = View ]
	[ "$(cpriv_ctr containers info "$id" | jq -r '.Labels["'"$(pin_label)"'"]')" = "$key" ]
	nsenter -t "$CPRIV_PID" -m findmnt -n -o OPTIONS --mountpoint "$view" | grep -qE '(^|,)ro(,|$)'
	# the kernel was not copied anywhere (the state dir, the bundle, /run)
	[ -z "$(find "$CPRIV_RUNC_ROOT" "$b/" /run -xdev -type f -size "${KSIZE}c" 2>/dev/null)" ]
	[ -z "$(cpriv_ctr leases ls -q | grep '^urunc-view-' || true)" ]

	run remove "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_nothing_left
}

@test "overlayfs: five containers of one image share one view, pinned by all five; nothing left after" {
	local ids=() i pids=() key n
	for i in 1 2 3 4 5; do ids+=("five$i-$E2E_SFX"); done
	for i in "${ids[@]}"; do
		run_detached "$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	key=$(view_snapshots)
	[ "$(wc -l <<<"$key")" = 1 ] && [ -n "$key" ] || { echo "view snapshots: $key"; false; }
	n=$(cpriv_ctr containers ls -q "labels.\"$(pin_label)\"==$key" | wc -l)
	[ "$n" = 5 ] || { echo "$n containers pin $key"; false; }
	for i in "${ids[@]}"; do
		grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$i.out" || { cat "$E2E_T/$i.out"; false; }
		grep -qF "boot artifacts from view $VIEWS/" "$(bundle "$i")/log.json"
	done
	# removing four keeps the view for the fifth
	for i in "${ids[@]:0:4}"; do remove "$i"; done
	[ "$(view_snapshots)" = "$key" ]
	[ -n "$(view_mounts)" ]
	remove "${ids[4]}"
	assert_nothing_left
}

@test "a snapshotView from ctr --annotation or the image's urunc.json is replaced and never reaches urunc" {
	local id=annot-$E2E_SFX b
	run_detached "$id" --annotation=com.urunc.unikernel.snapshotView=/etc
	b=$(bundle "$id")
	[[ $(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json") == "$VIEWS"/* ]]
	grep -qF "boot artifacts from view $VIEWS/" "$b/log.json" || { cat "$b/log.json"; false; }
	# the image's value (its urunc.json) is ignored by urunc, the user's was overwritten
	grep -qF 'urunc.json: ignoring key `com.urunc.unikernel.snapshotView`' "$b/log.json" || { cat "$b/log.json"; false; }
	! grep -F 'view /etc' "$b/log.json" || false
	remove "$id"
	assert_nothing_left
}

@test "the helper cannot be run: the container runs, one warning line says why, the user's view is dropped" {
	local id=nohelper-$E2E_SFX b
	echo "$E2E_T/no-such-helper" >"$HELPER_AT"
	run_detached "$id" --annotation=com.urunc.unikernel.snapshotView=/etc
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	[ "$(grep -c '"msg":"snapshot view for container' "$b/log.json")" = 1 ] || { cat "$b/log.json"; false; }
	grep '"level":"warning"' "$b/log.json" | grep -F "$E2E_T/no-such-helper" |
		grep -qF "urunc copies the boot artifacts instead" || { cat "$b/log.json"; false; }
	[ "$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")" = null ]
	grep -qF "boot artifacts from rootfs" "$b/log.json" || { cat "$b/log.json"; false; }
	remove "$id"
	assert_nothing_left
}

@test "containerd unreachable: the container runs, one warning line says why, the user's view is dropped" {
	local id=unreach-$E2E_SFX b
	base_config "containerd_address = \"$E2E_T/nonexistent.sock\""
	run_detached "$id" --annotation=com.urunc.unikernel.snapshotView=/etc
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	[ "$(grep -c '"msg":"snapshot view for container' "$b/log.json")" = 1 ] || { cat "$b/log.json"; false; }
	grep '"level":"warning"' "$b/log.json" | grep -F "snapshot view for container $id" |
		grep -F "$E2E_T/nonexistent.sock" | grep -qF "urunc copies the boot artifacts instead"
	[ "$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")" = null ]
	grep -qF "boot artifacts from rootfs" "$b/log.json" || { cat "$b/log.json"; false; }
	remove "$id"
	assert_nothing_left
}

@test "the view is refused (its key is taken by another snapshot): the container runs without it" {
	local id=refused-$E2E_SFX parent hash b
	# the committed snapshot the view would be made of, and the shim's name for that view
	# (a committed snapshot without a parent has an empty PARENT column: KIND is the last)
	parent=$(snapshots | awk '$NF == "Committed" { print $1 }')
	[ "$(wc -l <<<"$parent")" = 1 ] && [[ $parent == sha256:* ]] || { echo "parent: $parent"; false; }
	hash=$(printf '%s\0%s\0%s\0%s' "$CPRIV_SOCK" "$CPRIV_NS" overlayfs "$parent" | sha256sum | cut -c1-32)
	echo "overlayfs urunc-view-$hash" >>"$E2E_T/snaps"
	cpriv_ctr snapshots --snapshotter "$SNAP" prepare "urunc-view-$hash" "$parent" >/dev/null
	run_detached "$id"
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	grep '"level":"warning"' "$b/log.json" | grep -F "urunc-view-$hash" | grep -qF "is not a view of" ||
		{ cat "$b/log.json"; false; }
	[ "$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")" = null ]
	remove "$id"
	cpriv_ctr snapshots --snapshotter "$SNAP" rm "urunc-view-$hash"
	assert_nothing_left
}

# kill_each_step: for each step of the shim's create and delete, SIGKILL it there, clean up
# as a user would, run one more container of the image (the next create reconciles), and
# find nothing left.
kill_each_step() {
	local step id n=0
	for step in create:marker create:lease create:view create:mount create:pin create:unlease \
		create:annotation delete:urunc delete:unpin delete:unmount delete:remove; do
		n=$((n + 1))
		id=kill$n-$E2E_SFX
		echo "# step $step ($id)"
		if [[ $step == create:* ]]; then
			echo "$step" >"$KILL_AT"
			# the create fails (the runtime was killed); ctr's cleanup follows
			run ctr_run -d "$id"
			[ ! -e "$KILL_AT" ] || { echo "the shim never reached $step"; false; }
			[ "$status" -ne 0 ] || [ "$step" = create:annotation ] || { echo "create did not fail at $step"; false; }
			cpriv_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
			cpriv_ctr containers delete "$id" >/dev/null 2>&1 || true
		else
			run_detached "$id"
			echo "$step" >"$KILL_AT"
			cpriv_ctr tasks delete "$id" >/dev/null 2>&1 || true
			[ ! -e "$KILL_AT" ] || { echo "the shim never reached $step"; false; }
			cpriv_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
			cpriv_ctr containers delete "$id" >/dev/null 2>&1 || true
		fi
		! cpriv_ctr containers ls -q | grep -qxF "$id" || { echo "container $id still listed"; false; }
		# the next create of that image reconciles whatever is left
		run ctr_run --rm "next$n-$E2E_SFX"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		assert_nothing_left || { echo "after a kill at $step"; false; }
	done
	# The reuse path (the view is mounted, another container pins it): killed right after
	# pinning, the holder keeps the view, and its removal leaves nothing.
	run_detached "holder-$E2E_SFX"
	echo create:pin >"$KILL_AT"
	run ctr_run -d "reuse-$E2E_SFX"
	[ ! -e "$KILL_AT" ] || { echo "the shim never reached create:pin on reuse"; false; }
	[ "$status" -ne 0 ] || { echo "create did not fail"; false; }
	cpriv_ctr tasks delete -f "reuse-$E2E_SFX" >/dev/null 2>&1 || true
	cpriv_ctr containers delete "reuse-$E2E_SFX" >/dev/null 2>&1 || true
	[ "$(cpriv_ctr containers ls -q "labels.\"$(pin_label)\"")" = "holder-$E2E_SFX" ]
	[ -n "$(view_mounts)" ]
	remove "holder-$E2E_SFX"
	assert_nothing_left
}

@test "overlayfs: SIGKILL of the shim at each step of create and delete: nothing leaks after cleanup" {
	kill_each_step
}

@test "blocksnap: the guest gets its block rootfs, the artifacts come from a shared loop view, nothing copied" {
	local id=blk1-$E2E_SFX b view key src back
	SNAP=blocksnap
	run_detached "$id"
	cat "$E2E_T/$id.out"
	grep -qxF "disk0: ext label=$CPRIV_LABEL" "$E2E_T/$id.out" || { echo "the guest did not get its disk"; false; }
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	view=$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")
	[[ $view == "$VIEWS"/* ]] || { echo "annotation: $view"; false; }
	grep -F "boot artifacts from view $view" "$b/log.json" || { cat "$b/log.json"; false; }
	grep -F "guest rootfs block" "$b/log.json"
	! grep -qi "copied" "$b/log.json" || { cat "$b/log.json"; false; }
	# the view: a read-only loop device of the committed snapshot's image file, in the
	# snapshotter's snapshots directory with the container's own file
	key=$(view_snapshots)
	[ "$(wc -l <<<"$key")" = 1 ] && [[ $key == urunc-view-* ]] || { echo "views: $key"; false; }
	[ "$(cpriv_ctr containers info "$id" | jq -r '.Labels["'"$(pin_label)"'"]')" = "$key" ]
	src=$(nsenter -t "$CPRIV_PID" -m findmnt -n -o SOURCE --mountpoint "$view")
	[[ $src == /dev/loop* ]] || { echo "view source: $src"; false; }
	nsenter -t "$CPRIV_PID" -m findmnt -n -o OPTIONS --mountpoint "$view" | grep -qE '(^|,)ro(,|$)'
	back=$(losetup -n -O BACK-FILE "$src")
	[[ $back == "$CPRIV_BLOCKSNAP_ROOT/snapshots/"* ]] || { echo "view backed by $back"; false; }
	[ "$(losetup -n -O RO "$src" | tr -d ' ')" = 1 ]
	# no copy of the kernel under /run, the bundle or urunc's state
	[ -z "$(find "$CPRIV_RUNC_ROOT" "$b/" /run -xdev -type f -size "${KSIZE}c" 2>/dev/null)" ]

	run remove "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_nothing_left
}

@test "blocksnap: five containers of one image share one view, pinned by all five; nothing left after" {
	local ids=() i pids=() key n
	SNAP=blocksnap
	for i in 1 2 3 4 5; do ids+=("bfive$i-$E2E_SFX"); done
	for i in "${ids[@]}"; do
		run_detached "$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	key=$(view_snapshots)
	[ "$(wc -l <<<"$key")" = 1 ] && [ -n "$key" ] || { echo "view snapshots: $key"; false; }
	n=$(cpriv_ctr containers ls -q "labels.\"$(pin_label)\"==$key" | wc -l)
	[ "$n" = 5 ] || { echo "$n containers pin $key"; false; }
	[ "$(view_mounts | wc -l)" = 1 ] || { echo "view mounts: $(view_mounts)"; false; }
	for i in "${ids[@]}"; do
		grep -qxF "disk0: ext label=$CPRIV_LABEL" "$E2E_T/$i.out" || { cat "$E2E_T/$i.out"; false; }
		grep -qF "boot artifacts from view $VIEWS/" "$(bundle "$i")/log.json"
	done
	for i in "${ids[@]}"; do remove "$i"; done
	assert_nothing_left
}

@test "blocksnap: SIGKILL of the shim at each step of create and delete: nothing leaks after cleanup" {
	SNAP=blocksnap
	kill_each_step
}
