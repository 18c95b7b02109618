#!/usr/bin/env bats
# Block volumes and a read-only block rootfs (issue "confinement as the spec says", items 5,
# 6 and 9): a `ro` volume is a read-only disk, a host mount outside the bundle is never taken
# from the host, whatever create unmounted is mounted again when create fails, and
# root.readonly makes the rootfs drive read-only. The fake VMM stands in for QEMU (argv only).

load block_helpers

setup() { bv_setup; }
teardown() { bv_teardown; }

# Shared by the bodies: a block rootfs bundle ($B, rootfs on ROOT_DEV) and a second ext4
# image on a loop device (VOL_DEV), with the fake VMM as QEMU.
common_body() {
	cat <<'EOF'
B=$BV_T/bundle R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_block_bundle "$B"
mkdir -p "$BV_T/volsrc"
echo vol >"$BV_T/volsrc/file"
ns_image "$BV_T/vol.img" "v${BV_LABEL#bv}" "$BV_T/volsrc" 8M
VOL_DEV=$(ns_attach "$BV_T/vol.img")
printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$BV_T/config.toml"
export URUNC_CONFIG=$BV_T/config.toml
# add_volume <source> <options json>: a bind volume at /data
add_volume() {
	jq --arg s "$1" --argjson o "$2" \
		'.mounts += [{destination: "/data", type: "bind", source: $s, options: $o}]' \
		"$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
}
# run_fake <id>: create and start; the VMM's record in $BV_T/record
run_fake() {
	mkfifo "$BV_T/out.$1"
	timeout 20 sed '/^fakevmm: ready$/q' <"$BV_T/out.$1" >"$BV_T/record" &
	local reader=$!
	ns_track_container "$1" "$R"
	timeout 20 "$URUNC" --root "$R" create -b "$B" "$1" >"$BV_T/out.$1" 2>"$BV_T/create.log" </dev/null ||
		ns_fail "create failed: $(cat "$BV_T/create.log")"
	timeout 20 "$URUNC" --root "$R" start "$1" || ns_fail "start failed"
	wait "$reader" || true
}
EOF
}

@test "a ro volume inside the bundle and root.readonly: read-only drives, root=/dev/vda ro" {
	{ common_body; cat <<'EOF'; } | bv_body
mkdir "$B/vol"
ns_mount "$VOL_DEV" "$B/vol"
add_volume "$B/vol" '["rbind", "ro"]'
jq '.root.readonly = true' "$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
run_fake "$(ns_id ro1)"
cat "$BV_T/record"
grep -qx "fakevmm: argv\[[0-9]*\]=format=raw,if=none,id=rootfs,file=$ROOT_DEV,readonly=on" "$BV_T/record" ||
	ns_fail "the rootfs drive is not read-only"
grep -qx "fakevmm: argv\[[0-9]*\]=format=raw,if=none,id=vol[0-9]*,file=$VOL_DEV,readonly=on" "$BV_T/record" ||
	ns_fail "the ro volume is not a read-only drive"
grep -q "fakevmm: argv\[[0-9]*\]=.* root=/dev/vda ro " "$BV_T/record" || ns_fail "no ro on the command line"
EOF
	bv_run_body
	bv_assert_ok
}

@test "a block volume that is a host mount outside the bundle stays mounted on the host; the guest does not get it" {
	{ common_body; cat <<'EOF'; } | bv_body
mkdir "$BV_T/hostmnt"
ns_mount "$VOL_DEV" "$BV_T/hostmnt"
before=$(ns_mount_state "$BV_T/hostmnt")
add_volume "$BV_T/hostmnt" '["rbind", "rw"]'
run_fake "$(ns_id host1)"
[ "$(ns_mount_state "$BV_T/hostmnt")" = "$before" ] || ns_fail "the host mount was taken"
[ "$(cat "$BV_T/hostmnt/file")" = vol ] || ns_fail "the host lost its files"
if grep -q "file=$VOL_DEV" "$BV_T/record"; then ns_fail "the guest got the host's device"; fi
grep -qF "\`$BV_T/hostmnt\` (ext4 on $VOL_DEV) is a host mount outside the bundle" "$BV_T/create.log" ||
	ns_fail "no log line: $(cat "$BV_T/create.log")"
EOF
	bv_run_body
	bv_assert_ok
}

@test "create fails after unmounting the rootfs (a busy volume): the rootfs is mounted again" {
	{ common_body; cat <<'EOF'; } | bv_body
mkdir "$B/vol"
ns_mount "$VOL_DEV" "$B/vol"
add_volume "$B/vol" '["rbind", "rw"]'
before=$(ns_mount_state "$B/rootfs")
# the volume is busy: its unmount fails after the rootfs was unmounted
exec 5<"$B/vol/file"
id=$(ns_id busy1)
if ns_urunc "$BV_T/out" 30 "$R" create -b "$B" "$id"; then
	ns_fail "create accepted a busy volume: $(cat "$BV_T/out")"
fi
cat "$BV_T/out"
grep -qF "unmount \`$B/vol\` for the guest (a process still uses it" "$BV_T/out" || ns_fail "unexpected error"
exec 5<&-
[ "$(ns_mount_state "$B/rootfs")" = "$before" ] || ns_fail "the rootfs was not mounted again: $(ns_mount_state "$B/rootfs")"
[ -f "$B/rootfs/unikernel/kernel" ] || ns_fail "the rootfs is empty"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF
	bv_run_body
	bv_assert_ok
}
