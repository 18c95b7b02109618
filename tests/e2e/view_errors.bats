#!/usr/bin/env bats
# Hostile or broken snapshot views (com.urunc.unikernel.snapshotView). Each must be refused
# by `create` with its own error, exit status 1, nothing left under --root, and the
# container rootfs still mounted exactly as the shim left it: the view is validated, and
# the artifacts opened in it, before urunc touches the rootfs. docs/snapshot-view.md lists
# the rules in the order they are checked.
#
# Every case builds the same bundle (a linux-on-qemu guest, mountRootfs=true, the rootfs an
# ext4 image mounted from a loop device at <bundle>/rootfs), then runs a case snippet that
# makes the view and sets VIEW, then `urunc create`. Real loop devices, no VMM is started.

load block_helpers

setup() { bv_setup; }
teardown() { bv_teardown; }

# hostile_view <expected message substring>; the case snippet on stdin. The snippet runs in
# the namespace with B (bundle), ROOT_IMG, ROOT_DEV, R (state root) set, and sets VIEW.
hostile_view() {
	{
		cat <<'EOF'
B=$BV_T/bundle R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_block_bundle "$B"
VIEW=
EOF
		cat
		printf 'EXPECT=%q\n' "$1"
		cat <<'EOF'
[ -n "$VIEW" ] || ns_fail "the case set no VIEW"
jq --arg v "$VIEW" '.annotations["com.urunc.unikernel.snapshotView"] = $v' "$B/config.json" >"$B/c.json"
mv "$B/c.json" "$B/config.json"
before=$(ns_mount_state "$B/rootfs")
[ -n "$before" ] || ns_fail "the rootfs is not mounted before create"

id=$(ns_id bve)
rc=0
ns_urunc "$BV_T/out" 30 "$R" create -b "$B" "$id" || rc=$?
out=$(cat "$BV_T/out")
echo "$out"
[ "$rc" -eq 1 ] || ns_fail "create exited $rc, expected 1"
grep -qF -- "$EXPECT" <<<"$out" || ns_fail "the error does not say \`$EXPECT\`"
[ ! -e "$R/$id" ] || ns_fail "state left behind: $(find "$R/$id")"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
after=$(ns_mount_state "$B/rootfs")
[ "$after" = "$before" ] || ns_fail "the rootfs mount changed: \`$before\` -> \`$after\`"
[ -f "$B/rootfs/unikernel/kernel" ] || ns_fail "the rootfs content is gone"
EOF
	} | bv_body
	bv_run_body
	bv_assert_ok
}

@test "view: a relative path is refused" {
	hostile_view "annotation \`com.urunc.unikernel.snapshotView\`: \`view\` must be an absolute path" <<'EOF'
ns_view "$BV_T/view"
VIEW=view
EOF
}

@test "view: a path that is not normalised is refused" {
	hostile_view "must be a normalised path" <<'EOF'
ns_view "$BV_T/view"
mkdir "$BV_T/a"
VIEW=$BV_T/a/../view
EOF
}

@test "view: a path with a trailing slash is refused" {
	hostile_view "must be a normalised path" <<'EOF'
ns_view "$BV_T/view"
VIEW=$BV_T/view/
EOF
}

@test "view: a path that does not exist is refused" {
	hostile_view "\`$BV_T/missing\`: does not exist" <<'EOF'
VIEW=$BV_T/missing
EOF
}

@test "view: a path through a symlink is refused" {
	hostile_view "must not go through a symlink" <<'EOF'
ns_view "$BV_T/view"
ln -s view "$BV_T/link"
VIEW=$BV_T/link
EOF
}

@test "view: a plain directory (not a mountpoint) is refused" {
	hostile_view "must be a mountpoint" <<'EOF'
mkdir -p "$BV_T/plain/unikernel"
cp "$TESTKERNEL" "$BV_T/plain/unikernel/kernel"
VIEW=$BV_T/plain
EOF
}

@test "view: a subdirectory of a view mount is refused (not a mountpoint)" {
	hostile_view "must be a mountpoint" <<'EOF'
mkdir -p "$BV_T/src2/sub/unikernel"
cp "$TESTKERNEL" "$BV_T/src2/sub/unikernel/kernel"
ns_image "$BV_T/sub.img" "${BV_LABEL}s" "$BV_T/src2"
ns_view "$BV_T/view" "$BV_T/sub.img"
VIEW=$BV_T/view/sub
EOF
}

@test "view: a read-write mount is refused" {
	hostile_view "must be mounted read-only" <<'EOF'
cp "$ROOT_IMG" "$BV_T/rw.img"
dev=$(ns_attach "$BV_T/rw.img")
mkdir "$BV_T/view"
ns_mount "$dev" "$BV_T/view"
VIEW=$BV_T/view
EOF
}

@test "view: a read-only bind of the rootfs itself (same filesystem) is refused" {
	hostile_view "must be on another filesystem than the container rootfs" <<'EOF'
mkdir "$BV_T/view"
ns_mount --bind -o ro "$B/rootfs" "$BV_T/view"
VIEW=$BV_T/view
EOF
}

@test "view: the rootfs directory itself is refused" {
	hostile_view "must not be the container rootfs" <<'EOF'
# Read-only, so that the read-only rule passes and this rule is the one that fires.
mount -o remount,ro "$B/rootfs"
VIEW=$B/rootfs
EOF
}

@test "view: a kernel symlink to an absolute host path is refused" {
	hostile_view "escapes it through a symlink, .. or a mount inside it" <<'EOF'
mkdir -p "$BV_T/evil/unikernel"
ln -s /etc/passwd "$BV_T/evil/unikernel/kernel"
ns_image "$BV_T/evil.img" "${BV_LABEL}e" "$BV_T/evil"
ns_view "$BV_T/view" "$BV_T/evil.img"
VIEW=$BV_T/view
EOF
}

@test "view: a kernel symlink climbing out with .. is refused" {
	hostile_view "escapes it through a symlink, .. or a mount inside it" <<'EOF'
mkdir -p "$BV_T/evil/unikernel"
ln -s ../../../../../../../../etc/passwd "$BV_T/evil/unikernel/kernel"
ns_image "$BV_T/evil.img" "${BV_LABEL}e" "$BV_T/evil"
ns_view "$BV_T/view" "$BV_T/evil.img"
VIEW=$BV_T/view
EOF
}

@test "view: a missing kernel is refused" {
	hostile_view "kernel: open \`/unikernel/kernel\`" <<'EOF'
mkdir -p "$BV_T/empty/unikernel"
ns_image "$BV_T/empty.img" "${BV_LABEL}m" "$BV_T/empty"
ns_view "$BV_T/view" "$BV_T/empty.img"
VIEW=$BV_T/view
EOF
}

@test "view: a kernel that is a fifo is refused without blocking" {
	hostile_view "is not a regular file" <<'EOF'
mkdir -p "$BV_T/fifo/unikernel"
mkfifo "$BV_T/fifo/unikernel/kernel"
ns_image "$BV_T/fifo.img" "${BV_LABEL}f" "$BV_T/fifo"
ns_view "$BV_T/view" "$BV_T/fifo.img"
VIEW=$BV_T/view
EOF
}

@test "view: a urunc.json symlink out of the view is refused" {
	hostile_view "\`urunc.json\` in \`$BV_T/view\` escapes it through a symlink, .. or a mount inside it" <<'EOF'
# The annotations name only the view, so the configuration is read from its urunc.json.
jq '.annotations = {}' "$B/config.json" >"$B/c.json"
mv "$B/c.json" "$B/config.json"
mkdir -p "$BV_T/evil/unikernel"
cp "$TESTKERNEL" "$BV_T/evil/unikernel/kernel"
ln -s /etc/passwd "$BV_T/evil/urunc.json"
ns_image "$BV_T/evil.img" "${BV_LABEL}e" "$BV_T/evil"
ns_view "$BV_T/view" "$BV_T/evil.img"
VIEW=$BV_T/view
EOF
}

@test "view: a path outside the host's allowed prefixes is refused" {
	hostile_view "must be under one of the allowed prefixes \`/nonexistent-prefix\`" <<'EOF'
ns_view "$BV_T/view"
printf '[snapshot_view]\nallowed_prefixes = ["/nonexistent-prefix"]\n' >"$BV_T/config.toml"
export URUNC_CONFIG=$BV_T/config.toml
VIEW=$BV_T/view
EOF
}

@test "view: a writable mount stacked inside the view is refused" {
	hostile_view "kernel: \`/unikernel/kernel\` in \`$BV_T/view\` escapes it through a symlink, .. or a mount inside it" <<'EOF'
ns_view "$BV_T/view"
# The view's top mount is read-only, but the kernel would come from a tmpfs mounted over
# its unikernel/ directory: writable, and not the snapshot.
ns_mount -t tmpfs -o size=16m bvstack "$BV_T/view/unikernel"
cp "$TESTKERNEL" "$BV_T/view/unikernel/kernel"
VIEW=$BV_T/view
EOF
}

@test "view: with no allowed_prefixes configured, only the views directory is allowed (not anywhere)" {
	hostile_view "must be under one of the allowed prefixes \`/run/urunc/views\`" <<'EOF2'
ns_view "$BV_T/view"
: >"$BV_T/empty.toml"
export URUNC_CONFIG=$BV_T/empty.toml
VIEW=$BV_T/view
EOF2
}

@test "view: provenance: a loop view whose image lies outside the rootfs image's directory is refused" {
	hostile_view "does not come from the container rootfs's snapshotter (the view's loop device" <<'EOF2'
# The same content, but from another "snapshotter": its image file is elsewhere.
mkdir -p "$BV_T/other"
cp "$ROOT_IMG" "$BV_T/other/snap.img"
VIEW_DEV=$(ns_attach -r "$BV_T/other/snap.img")
mkdir -p "$BV_T/view"
ns_mount -o ro,noload "$VIEW_DEV" "$BV_T/view"
VIEW=$BV_T/view
EOF2
	[[ $output == *"is backed by \`$BV_T/other/snap.img\`, not in \`$BV_T\`"* ]] || false
}

@test "view: provenance: a view that is not a loop device, for a loop-device rootfs, is refused" {
	hostile_view "does not come from the container rootfs's snapshotter (the rootfs \`/dev/loop" <<'EOF2'
mkdir -p "$BV_T/view"
ns_mount -t tmpfs -o size=16m bvtmp "$BV_T/view"
mkdir -p "$BV_T/view/unikernel"
cp "$TESTKERNEL" "$BV_T/view/unikernel/kernel"
mount -o remount,ro "$BV_T/view"
VIEW=$BV_T/view
EOF2
	[[ $output == *"is a loop device, the view's device "*" is not)"* ]] || false
}
