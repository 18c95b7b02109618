#!/usr/bin/env bats
# Block rootfs handed to a real QEMU guest (TCG), with boot artifacts from a snapshot view
# (zero copies) or, without one, from a copy that `delete` removes. The test acts as the
# shim: it mounts the container rootfs (ext4 image on a loop device) and the view (a copy
# of the image on a read-only loop device, mounted ro,noload). See docs/snapshot-view.md.
#
# The test kernel prints `disk<N>: ext label=<label>` for each virtio-blk disk, so the
# label (unique per run) proves which device the guest got.

load block_helpers

setup() { bv_setup; }
teardown() { bv_teardown; }

@test "view mode: the guest boots from the block rootfs; artifacts from the view" {
	bv_body <<'EOF'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_view "$V"
ns_block_bundle "$B" snapshotView="$V"
view_before=$(ns_mount_state "$V")

id=$(ns_id bv1)
ns_urunc "$BV_T/out" 60 "$R" run -b "$B" "$id" || ns_fail "run failed: $(cat "$BV_T/out")"
out=$(cat "$BV_T/out")
echo "$out"
grep -qxF "disk0: ext label=$BV_LABEL" <<<"$out" || ns_fail "the guest did not get the rootfs device"
grep -qxF "disks: 1" <<<"$out" || ns_fail "expected exactly one disk"
grep -qxF "URUNC-TESTKERNEL: exiting" <<<"$out" || ns_fail "the guest did not finish"
grep -qF "boot artifacts from view $V" <<<"$out" || ns_fail "artifacts not taken from the view"
! grep -qi "copied" <<<"$out" || ns_fail "a copy was made although a view was given"

# urunc unmounted the rootfs (in this namespace, where it was mounted) ...
! mountpoint -q "$B/rootfs" || ns_fail "the rootfs is still mounted: $(ns_mount_state "$B/rootfs")"
[ -z "$(findmnt -n -S "$ROOT_DEV")" ] || ns_fail "$ROOT_DEV is still mounted: $(findmnt -n -S "$ROOT_DEV")"
# ... left the view alone (the shim removes it after delete) and nothing under the root.
[ "$(ns_mount_state "$V")" = "$view_before" ] || ns_fail "the view changed: $(ns_mount_state "$V")"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
umount "$V" || ns_fail "the view is still busy after the container is gone"
EOF
	bv_run_body
	bv_assert_ok
}

@test "view mode copies nothing: the VMM's kernel is the view's inode, bound read-only" {
	bv_body <<'EOF'
B=/run/bv-bundle V=$BV_T/view R=$BV_T/state
# /run and the state root are private tmpfs mounts, so their free space moves only with
# what this test (and urunc) write; the bundle lives in /run as containerd's bundles do.
ns_mount -t tmpfs -o size=256m bvrun /run
mkdir -p "$R"
ns_mount -t tmpfs -o size=256m,mode=0700 bvstate "$R"

ns_padded_kernel "$BV_T/kernel" 32
ksize=$(stat -c %s "$BV_T/kernel")
ns_kernel_dir "$BV_T/src" "$BV_T/kernel"
ns_rootfs_image 48M
ns_view "$V"
ns_block_bundle "$B" snapshotView="$V"
printf '[monitors.qemu]\npath = "%s"\n[snapshot_view]\nviews_dir = "%s"\n' "$FAKEVMM" "$BV_T" >"$BV_T/config.toml"
export URUNC_CONFIG=$BV_T/config.toml
run0=$(ns_avail_kib /run) state0=$(ns_avail_kib "$R")

# The fake VMM writes its record to the container's stdout, a fifo read up to "ready".
mkfifo "$BV_T/out"
timeout 20 sed '/^fakevmm: ready$/q' <"$BV_T/out" >"$BV_T/record" &
reader=$!
id=$(ns_id bv2)
ns_track_container "$id" "$R"
timeout 20 "$URUNC" --root "$R" create -b "$B" "$id" >"$BV_T/out" 2>"$BV_T/create.log" </dev/null ||
	ns_fail "create failed: $(cat "$BV_T/create.log")"
pid=$("$URUNC" --root "$R" state "$id" | jq -r .pid)
timeout 20 "$URUNC" --root "$R" start "$id" || ns_fail "start failed"
wait "$reader" || true
grep -qxF "fakevmm: ready" "$BV_T/record" || ns_fail "no record from the fake VMM: $(cat "$BV_T/record")"
cat "$BV_T/create.log"

# What the VMM was given: /.urunc/kernel in its root, the rootfs loop device as the drive.
grep -q '^fakevmm: root=\(.*,\)\?\.urunc\(,\|$\)' "$BV_T/record" ||
	ns_fail "no .urunc in the VMM's root: $(grep '^fakevmm: root=' "$BV_T/record")"
mapfile -t argv < <(sed -n 's/^fakevmm: argv\[[0-9]*\]=//p' "$BV_T/record")
kernel_arg= drive_arg=
for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
	[ "${argv[i]}" = -kernel ] && kernel_arg=${argv[i + 1]}
	[ "${argv[i]}" = -drive ] && [[ ${argv[i + 1]} == *"file=$ROOT_DEV"* ]] && drive_arg=${argv[i + 1]}
done
[ "$kernel_arg" = /.urunc/kernel ] || ns_fail "-kernel is \`$kernel_arg\`: ${argv[*]}"
[ -n "$drive_arg" ] || ns_fail "no -drive with file=$ROOT_DEV: ${argv[*]}"
grep -q "^fakevmm: dev=.*\b$(basename "$ROOT_DEV")\b" "$BV_T/record" ||
	ns_fail "$ROOT_DEV is not in the VMM's /dev: $(grep '^fakevmm: dev=' "$BV_T/record")"

# Zero copies: the kernel the VMM sees is the very inode in the view, bound read-only ...
[ "$(stat -L -c %d:%i "/proc/$pid/root/.urunc/kernel")" = "$(stat -c %d:%i "$V/unikernel/kernel")" ] ||
	ns_fail "the VMM's kernel is not the view's file"
opts=$(awk '$5 == "/.urunc/kernel" { print $6 }' "/proc/$pid/mountinfo")
[[ ,$opts, == *,ro,* ]] || ns_fail "/.urunc/kernel is not bound read-only (options \`$opts\`)"
# ... no file of the kernel's size appeared in the state root, the bundle or /run ...
found=$(find "$R" "$B" /run -xdev -type f -size "${ksize}c" 2>/dev/null)
[ -z "$found" ] || ns_fail "a file of the kernel's size ($ksize bytes) appeared: $found"
# ... and no space was taken for it (a copy would take the whole ksize: real data).
run1=$(ns_avail_kib /run) state1=$(ns_avail_kib "$R")
echo "free space drop while running: /run $((run0 - run1)) KiB, state root $((state0 - state1)) KiB (kernel $((ksize / 1024)) KiB)"
[ $((run0 - run1)) -lt 1024 ] || ns_fail "/run lost $((run0 - run1)) KiB"
[ $((state0 - state1)) -lt 1024 ] || ns_fail "the state root lost $((state0 - state1)) KiB"
# The rootfs left this namespace for the guest; the view stays until after delete.
! mountpoint -q "$B/rootfs" || ns_fail "the rootfs is still mounted while the VMM runs"
mountpoint -q "$V" || ns_fail "the view was unmounted by urunc"

timeout 20 "$URUNC" --root "$R" delete --force "$id" || ns_fail "delete failed"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
umount "$V" || ns_fail "the view is still busy after delete"
EOF
	bv_run_body
	bv_assert_ok
}

@test "copy fallback: without a view the artifacts are copied, the guest boots, delete removes the copy" {
	bv_body <<'EOF'
B=/run/bv-bundle R=$BV_T/state
ns_mount -t tmpfs -o size=256m bvrun /run
mkdir -p "$R"
ns_mount -t tmpfs -o size=256m,mode=0700 bvstate "$R"
ns_padded_kernel "$BV_T/kernel" 32
ksize=$(stat -c %s "$BV_T/kernel")
ns_kernel_dir "$BV_T/src" "$BV_T/kernel"
ns_rootfs_image 48M
ns_block_bundle "$B"
state0=$(ns_avail_kib "$R")

id=$(ns_id bv3)
ns_urunc "$BV_T/out" 60 "$R" run --keep -b "$B" "$id" || ns_fail "run failed: $(cat "$BV_T/out")"
out=$(cat "$BV_T/out")
echo "$out"
grep -qxF "disk0: ext label=$BV_LABEL" <<<"$out" || ns_fail "the guest did not get the rootfs device"
grep -qF "no snapshot view was given: boot artifacts copied to \`$R/$id/artifacts\`" <<<"$out" ||
	ns_fail "no warning about the copy"
! mountpoint -q "$B/rootfs" || ns_fail "the rootfs is still mounted"

# The control for the zero-copy test: here the copy is seen by find and by df.
[ "$(find "$R" -xdev -type f -size "${ksize}c")" = "$R/$id/artifacts/unikernel/kernel" ] ||
	ns_fail "the copy is not where expected: $(find "$R")"
cmp -s "$BV_T/kernel" "$R/$id/artifacts/unikernel/kernel" || ns_fail "the copy differs from the kernel"
drop=$((state0 - $(ns_avail_kib "$R")))
echo "state root free space drop with the copy: $drop KiB (kernel $((ksize / 1024)) KiB)"
[ "$drop" -ge $((ksize / 1024)) ] || ns_fail "the copy took only $drop KiB"

timeout 20 "$URUNC" --root "$R" delete "$id" || ns_fail "delete failed"
[ ! -e "$R/$id" ] || ns_fail "the state dir is left: $(find "$R/$id")"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
[ "$(ns_avail_kib "$R")" -ge $((state0 - 64)) ] || ns_fail "space not given back"
EOF
	bv_run_body
	bv_assert_ok
}

@test "a rootfs still mounted in another mount namespace is refused, the guest never gets it" {
	bv_body <<'EOF'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_view "$V"
ns_block_bundle "$B" snapshotView="$V"
# Another namespace holds a private copy of the rootfs mount (as a stray process would).
unshare -m --propagation private sleep 60 &
holder=$!
echo "$holder" >>"$BV_T/pids"
for ((i = 0; i < 100; i++)); do
	[ "$(readlink "/proc/$holder/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
	sleep 0.02
done
if ns_urunc "$BV_T/out" 30 "$R" create -b "$B" "$(ns_id bv4)"; then
	ns_fail "create accepted a device mounted elsewhere: $(cat "$BV_T/out")"
fi
out=$(cat "$BV_T/out")
echo "$out"
kill "$holder"
wait "$holder" 2>/dev/null || true
grep -qF "\`$ROOT_DEV\` is still mounted elsewhere (pid $holder: $B/rootfs)" <<<"$out" ||
	ns_fail "unexpected error"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF
	bv_run_body
	bv_assert_ok
}

@test "parallel creates with block rootfs: every device is handed over, no create refused by another's init" {
	bv_body <<'EOF'
R=$BV_T/state
mkdir "$R"
printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$BV_T/config.toml"
export URUNC_CONFIG=$BV_T/config.toml
# Each create's init copies every mount of this namespace, the other containers' rootfs
# included, until it detaches them in its monitor root: the checks must wait for that,
# whatever the timing (urunc's mount copy lock), never refuse or race it.
n=6
ns_rootfs_image
base=$ROOT_IMG
devs=()
for ((i = 0; i < n; i++)); do
	ROOT_IMG=$BV_T/rootfs$i.img
	cp "$base" "$ROOT_IMG"
	ns_block_bundle "$BV_T/b$i"
	devs+=("$ROOT_DEV")
done
pids=()
for ((i = 0; i < n; i++)); do
	ns_track_container "$(ns_id par$i)" "$R"
	timeout -k 2 60 "$URUNC" --root "$R" create -b "$BV_T/b$i" "$(ns_id par$i)" \
		>"$BV_T/c$i.log" 2>&1 </dev/null &
	pids+=($!)
done
failed=0
for ((i = 0; i < n; i++)); do
	if ! wait "${pids[i]}"; then
		echo "create $i failed: $(cat "$BV_T/c$i.log")"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] || ns_fail "$failed of $n parallel creates failed"
for ((i = 0; i < n; i++)); do
	[ "$("$URUNC" --root "$R" state "$(ns_id par$i)" | jq -r .status)" = created ] ||
		ns_fail "container $i is not created"
	[ -z "$(findmnt -n -S "${devs[i]}")" ] || ns_fail "${devs[i]} is still mounted: $(findmnt -n -S "${devs[i]}")"
done
for ((i = 0; i < n; i++)); do
	timeout 20 "$URUNC" --root "$R" delete --force "$(ns_id par$i)" || ns_fail "delete $i failed"
done
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF
	bv_run_body
	bv_assert_ok
}

@test "a busy rootfs is refused at create: no lazy unmount, it stays mounted" {
	bv_body <<'EOF2'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_view "$V"
ns_block_bundle "$B" snapshotView="$V"
before=$(ns_mount_state "$B/rootfs")
# A process (this shell) keeps a file of the rootfs open.
exec 5<"$B/rootfs/unikernel/kernel"
if ns_urunc "$BV_T/out" 30 "$R" create -b "$B" "$(ns_id bv8)"; then
	ns_fail "create accepted a busy rootfs: $(cat "$BV_T/out")"
fi
cat "$BV_T/out"
grep -qF "unmount \`$B/rootfs\` for the guest (a process still uses it" "$BV_T/out" ||
	ns_fail "unexpected error"
[ "$(ns_mount_state "$B/rootfs")" = "$before" ] || ns_fail "the rootfs mount changed"
exec 5<&-
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF2
	bv_run_body
	bv_assert_ok
}

@test "view mode: a kernel symlink that stays inside the view is followed" {
	bv_body <<'EOF2'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_rootfs_image
# The view's image keeps the kernel elsewhere and links to it relatively (RESOLVE_BENEATH
# follows a symlink as long as it resolves beneath the view's root).
mkdir -p "$BV_T/vsrc/boot" "$BV_T/vsrc/unikernel"
cp "$TESTKERNEL" "$BV_T/vsrc/boot/kernel.elf"
ln -s ../boot/kernel.elf "$BV_T/vsrc/unikernel/kernel"
ns_image "$BV_T/vsrc.img" "${BV_LABEL}v" "$BV_T/vsrc"
ns_view "$V" "$BV_T/vsrc.img"
ns_block_bundle "$B" snapshotView="$V"

id=$(ns_id bv5)
ns_urunc "$BV_T/out" 60 "$R" run -b "$B" "$id" || ns_fail "run failed: $(cat "$BV_T/out")"
cat "$BV_T/out"
grep -qxF "disk0: ext label=$BV_LABEL" "$BV_T/out" || ns_fail "the guest did not boot from the rootfs device"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF2
	bv_run_body
	bv_assert_ok
}

@test "view mode: the configuration comes from the view's urunc.json when the annotations name only the view" {
	bv_body <<'EOF2'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_kernel_dir "$BV_T/src"
# base64 values (as bunny writes them) and plaintext ones; a snapshotView key in the image
# must be ignored (only the shim may name a host path).
cat >"$BV_T/src/urunc.json" <<JSON
{"com.urunc.unikernel.unikernelType": "$(printf linux | base64)",
 "com.urunc.unikernel.hypervisor": "qemu",
 "com.urunc.unikernel.binary": "$(printf /unikernel/kernel | base64)",
 "com.urunc.unikernel.mountRootfs": "true",
 "com.urunc.unikernel.snapshotView": "/nonexistent-view"}
JSON
ns_rootfs_image
ns_view "$V"
ns_block_bundle "$B" unikernelType hypervisor binary unikernelVersion mountRootfs snapshotView="$V"
[ "$(jq -c '.annotations | keys' "$B/config.json")" = '["com.urunc.unikernel.snapshotView"]' ] ||
	ns_fail "unexpected annotations: $(jq -c .annotations "$B/config.json")"

id=$(ns_id bv7)
ns_urunc "$BV_T/out" 60 "$R" run -b "$B" "$id" || ns_fail "run failed: $(cat "$BV_T/out")"
cat "$BV_T/out"
grep -qxF "disk0: ext label=$BV_LABEL" "$BV_T/out" || ns_fail "the guest did not boot from the rootfs device"
grep -qF "boot artifacts from view $V" "$BV_T/out" || ns_fail "artifacts not taken from the view"
grep -qF 'urunc.json: ignoring key `com.urunc.unikernel.snapshotView`' "$BV_T/out" ||
	ns_fail "the image's snapshotView key was not reported as ignored"
[ -z "$(ls -A "$R")" ] || ns_fail "left under the state root: $(find "$R")"
EOF2
	bv_run_body
	bv_assert_ok
}

@test "a rootfs on an autoclear loop device (mount -o loop, containerd blockfile) reaches the guest" {
	bv_body <<'EOF2'
B=$BV_T/bundle V=$BV_T/view R=$BV_T/state
mkdir "$R"
ns_rootfs_image
ns_view "$V"
"$MAKE_BUNDLE" "$B" "$TESTKERNEL" unikernelType=linux hypervisor=qemu mountRootfs=true snapshotView="$V"
rm -rf "$B/rootfs"
mkdir "$B/rootfs"
# mount -o loop (and containerd's loop mounts) set LO_FLAGS_AUTOCLEAR: the device is
# detached when its last user goes, which the unmount in create can be.
ns_mount -o loop "$ROOT_IMG" "$B/rootfs"
dev=$(findmnt -n -o SOURCE --mountpoint "$B/rootfs")
echo "$dev" >>"$BV_T/loops"
[ "$(cat "/sys/block/$(basename "$dev")/loop/autoclear")" = 1 ] || ns_fail "$dev is not autoclear"

id=$(ns_id bv6)
# The guest gets the filesystem: containerd's blockfile snapshots are autoclear loop
# devices, so a refusal here would be a regression, not an acceptable outcome.
rc=0
ns_urunc "$BV_T/out" 60 "$R" run -b "$B" "$id" || rc=$?
cat "$BV_T/out"
[ "$rc" -eq 0 ] || ns_fail "run exited $rc"
grep -qxF "disk0: ext label=$BV_LABEL" "$BV_T/out" || ns_fail "the guest did not get the filesystem"
EOF2
	bv_run_body
	bv_assert_ok
}
