#!/usr/bin/env bats
# urunc-view-shim behind containerd 1.6: `ctr run --runc-binary <shim>` (runtime
# io.containerd.runc.v2), real QEMU under TCG. The shim asks containerd for one read-only
# View of the image's committed snapshot, shared by every container of that image, mounts
# it under the views directory, pins it on each container with a gc.ref label, and names it
# in com.urunc.unikernel.snapshotView. A private containerd (own root, state, socket,
# namespace) runs in the namespace that hides /dev/kvm; the shim and urunc inherit
# URUNC_CONFIG from it, so each test can change the host config by rewriting that file.

bats_require_minimum_version 1.5.0
load e2e_helpers

setup_file() {
	e2e_setup_file || return 0
	e2e_need containerd ctr containerd-shim-runc-v2 || return 0
	SHIM=$URUNC_BUILD/src/shim/urunc-view-shim
	[ -x "$SHIM" ] || { e2e_skip_file "the shim is not built ($SHIM)"; return 0; }
	C=$E2E_T/containerd
	SOCK=$C/containerd.sock
	NS=urunc-view-$E2E_SFX
	RUNC_ROOT=$E2E_T/runc
	VIEWS=$E2E_T/views
	KILL_AT=$E2E_T/kill-at               # the shim's test-only step hook reads it
	IMAGE=localhost/urunc-view:$E2E_SFX
	export SHIM C SOCK NS RUNC_ROOT VIEWS KILL_AT IMAGE
	: >"$E2E_T/ids"
	e2e_note_absent /run/containerd
	e2e_note_absent /run/containerd/s
	mkdir -p "$C" "$E2E_T/fifo"
	cat >"$C.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "$C/runc-v1"
EOF
	base_config
	URUNC_CONFIG=$E2E_T/urunc.toml URUNC_VIEW_SHIM_KILL_AT=$KILL_AT "${E2E_HIDEKVM[@]}" \
		containerd --config "$C.toml" </dev/null >"$E2E_T/containerd.log" 2>&1 3>&- &
	echo $! >"$E2E_T/containerd.pid"
	CONTAINERD_PID=$(cat "$E2E_T/containerd.pid")
	if ! e2e_wait_daemon "$CONTAINERD_PID" 30 ctr_ready; then
		tail -n 20 "$E2E_T/containerd.log"
		return 1
	fi
	CONTAINERD_MNTNS=$(e2e_mntns "$CONTAINERD_PID")
	export CONTAINERD_PID CONTAINERD_MNTNS

	# The image: the test kernel padded to 8 MiB of real data (so a copy would show as a
	# file of that size) and urunc.json.
	mkdir -p "$E2E_T/rootfs/unikernel"
	cp "$TESTKERNEL" "$E2E_T/rootfs/unikernel/kernel"
	head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' U >>"$E2E_T/rootfs/unikernel/kernel"
	jq -cn --arg t "$(printf unikraft | base64 -w0)" --arg h "$(printf qemu | base64 -w0)" \
		--arg b "$(printf /unikernel/kernel | base64 -w0)" \
		'{"com.urunc.unikernel.unikernelType": $t, "com.urunc.unikernel.hypervisor": $h,
		  "com.urunc.unikernel.binary": $b}' >"$E2E_T/rootfs/urunc.json"
	e2e_oci_image "$E2E_T/rootfs" "$E2E_T/image.tar" "$IMAGE" '{"Cmd": ["hello", "view"]}'
	e2e_ctr images import "$E2E_T/image.tar"
}

teardown_file() {
	local id m
	[ -n "${E2E_T:-}" ] || return 0
	e2e_stop_pid "$(cat "$E2E_T/containerd.pid" 2>/dev/null)" 10
	e2e_kill_mntns "${CONTAINERD_MNTNS:-}"
	e2e_kill_cgroups "${NS:-}"
	while read -r id; do
		[ -n "$id" ] && rm -f "/run/containerd/s/$(printf '%s' "$SOCK/$NS/$id" | sha256sum | cut -d' ' -f1)"
	done <"$E2E_T/ids" 2>/dev/null || true
	e2e_rm_tmp
}

setup() {
	e2e_setup
	base_config
	rm -f "$KILL_AT"
}

# Every test removes what it started, even when it failed.
teardown() {
	local id
	[ -n "${E2E_T:-}" ] && [ -f "$E2E_T/ids" ] || return 0
	rm -f "$KILL_AT"
	base_config
	while read -r id; do
		[ -n "$id" ] || continue
		e2e_ctr tasks kill -s KILL "$id" >/dev/null 2>&1 || true
		e2e_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
		e2e_ctr containers delete "$id" >/dev/null 2>&1 || true
	done <"$E2E_T/ids"
	# snapshots a test made itself
	while read -r id; do
		[ -n "$id" ] && e2e_ctr snapshots rm "$id" >/dev/null 2>&1 || true
	done <"$E2E_T/snaps" 2>/dev/null || true
}

# The host config the shim and urunc read: views under $VIEWS (and so allowed there only).
base_config() {
	printf '[snapshot_view]\nviews_dir = "%s"\n[view_shim]\nurunc_path = "%s"\n%s' \
		"$VIEWS" "$URUNC" "${1:-}" >"$E2E_T/urunc.toml"
}

ctr_ready() { [ -S "$SOCK" ] && ctr -a "$SOCK" version >/dev/null 2>&1; }

e2e_ctr() { timeout -k 5 "${CTR_TIMEOUT:-60}" ctr -a "$SOCK" -n "$NS" "$@"; }

# ctr_run <--flag...> <id> [args...]: `ctr run` through the runc v2 shim with the view shim
# as its runtime binary; the id is recorded for teardown.
ctr_run() {
	local flags=()
	while [[ $1 == -* ]]; do flags+=("$1"); shift; done
	echo "$1" >>"$E2E_T/ids"
	e2e_ctr run "${flags[@]}" --runtime io.containerd.runc.v2 --runc-binary "$SHIM" \
		--runc-root "$RUNC_ROOT" --fifo-dir "$E2E_T/fifo" "${RUN_IMAGE:-$IMAGE}" "$@"
}

# run_detached <id> [ctr flags...]: start the container in the background; its output goes
# to $E2E_T/<id>.out. Waits until the guest has finished (the test kernel exits at once), so
# the container still exists, stopped, with its bundle, state and view.
run_detached() {
	local id=$1
	shift
	ctr_run -d --log-uri="file://$E2E_T/$id.out" "$@" "$id" || return 1
	e2e_wait 60 task_stopped "$id" || { echo "task $id did not stop"; e2e_ctr tasks ls; return 1; }
}

task_stopped() { e2e_ctr tasks ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }

bundle() { echo "$C/state/io.containerd.runtime.v2.task/$NS/$1"; }

# remove <id>: what a user does after the container ran: task delete, container delete.
remove() {
	e2e_ctr tasks delete "$1" >/dev/null || return 1
	e2e_ctr containers delete "$1"
}

view_snapshots() { e2e_ctr snapshots ls | awk '$1 ~ /^urunc-view-/ { print $1 }'; }

view_mounts() { nsenter -t "$CONTAINERD_PID" -m findmnt -rn -o TARGET | grep -F "$VIEWS/" || true; }

# assert_nothing_left: no view snapshot, lease, pin label, mount, marker or lock file.
assert_nothing_left() {
	local left
	left=$(view_snapshots)
	[ -z "$left" ] || { echo "view snapshots left: $left"; return 1; }
	left=$(e2e_ctr leases ls -q | grep '^urunc-view-' || true)
	[ -z "$left" ] || { echo "leases left: $left"; return 1; }
	left=$(e2e_ctr containers ls -q 'labels."containerd.io/gc.ref.snapshot.overlayfs/urunc-view"' || true)
	[ -z "$left" ] || { echo "pinned containers left: $left"; return 1; }
	left=$(view_mounts)
	[ -z "$left" ] || { echo "view mounts left: $left"; return 1; }
	left=$(find "$VIEWS" -mindepth 1 -not -path "$VIEWS/containers" 2>/dev/null || true)
	[ -z "$left" ] || { echo "left under the views directory: $left"; return 1; }
}

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
	[ "$(e2e_ctr snapshots info "$key" | jq -r .Kind)" = View ]
	[ "$(e2e_ctr containers info "$id" | jq -r '.Labels["containerd.io/gc.ref.snapshot.overlayfs/urunc-view"]')" = "$key" ]
	nsenter -t "$CONTAINERD_PID" -m findmnt -n -o OPTIONS --mountpoint "$view" | grep -qE '(^|,)ro(,|$)'
	# the kernel was not copied anywhere (the state dir, the bundle, /run)
	local ksize
	ksize=$(stat -c %s "$E2E_T/rootfs/unikernel/kernel")
	[ -z "$(find "$RUNC_ROOT" "$b/" /run -xdev -type f -size "${ksize}c" 2>/dev/null)" ]
	[ -z "$(e2e_ctr leases ls -q | grep '^urunc-view-' || true)" ]

	run remove "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_nothing_left
}

@test "five containers of one image share one view, pinned by all five; nothing left after" {
	local ids=() i pids=() key n
	for i in 1 2 3 4 5; do ids+=("five$i-$E2E_SFX"); done
	for i in "${ids[@]}"; do
		run_detached "$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	key=$(view_snapshots)
	[ "$(wc -l <<<"$key")" = 1 ] && [ -n "$key" ] || { echo "view snapshots: $key"; false; }
	n=$(e2e_ctr containers ls -q "labels.\"containerd.io/gc.ref.snapshot.overlayfs/urunc-view\"==$key" | wc -l)
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

@test "a snapshotView annotation from ctr --annotation is replaced and never reaches urunc" {
	local id=annot-$E2E_SFX b
	run_detached "$id" --annotation=com.urunc.unikernel.snapshotView=/etc
	b=$(bundle "$id")
	[[ $(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json") == "$VIEWS"/* ]]
	grep -qF "boot artifacts from view $VIEWS/" "$b/log.json" || { cat "$b/log.json"; false; }
	! grep -F '/etc' "$b/log.json"
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
	parent=$(e2e_ctr snapshots ls | awk '$NF == "Committed" { print $1 }')
	[ "$(wc -l <<<"$parent")" = 1 ] && [[ $parent == sha256:* ]] || { echo "parent: $parent"; false; }
	hash=$(printf '%s\0%s\0%s\0%s' "$SOCK" "$NS" overlayfs "$parent" | sha256sum | cut -c1-32)
	echo "urunc-view-$hash" >>"$E2E_T/snaps"
	e2e_ctr snapshots prepare "urunc-view-$hash" "$parent" >/dev/null
	run_detached "$id"
	grep -qF "URUNC-TESTKERNEL: exiting" "$E2E_T/$id.out"
	b=$(bundle "$id")
	grep '"level":"warning"' "$b/log.json" | grep -F "urunc-view-$hash" | grep -qF "is not a view of" ||
		{ cat "$b/log.json"; false; }
	[ "$(jq -r '.annotations["com.urunc.unikernel.snapshotView"]' "$b/config.json")" = null ]
	remove "$id"
	e2e_ctr snapshots rm "urunc-view-$hash"
	assert_nothing_left
}

@test "SIGKILL of the shim at each step of create and delete: nothing leaks after cleanup" {
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
			e2e_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
			e2e_ctr containers delete "$id" >/dev/null 2>&1 || true
		else
			run_detached "$id"
			echo "$step" >"$KILL_AT"
			e2e_ctr tasks delete "$id" >/dev/null 2>&1 || true
			[ ! -e "$KILL_AT" ] || { echo "the shim never reached $step"; false; }
			e2e_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
			e2e_ctr containers delete "$id" >/dev/null 2>&1 || true
		fi
		! e2e_ctr containers ls -q | grep -qxF "$id" || { echo "container $id still listed"; false; }
		# the next create of that image reconciles whatever is left
		run ctr_run --rm "next$n-$E2E_SFX"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		assert_nothing_left || { echo "after a kill at $step"; false; }
	done
}
