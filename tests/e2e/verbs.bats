#!/usr/bin/env bats
# docker exec / pause / unpause / update behind urunc: a busybox container (handed to runc by
# urunc) and a unikernel (the fake VMM, via URUNC_CONFIG); and `ctr task pause/resume` on a
# unikernel behind a private containerd. The private dockerd: dockerd_private.bash.
# urunc-test-lane: dockerd -- with docker.bats: both start a dockerd 20.10, which creates and
# reads the host-wide /etc/docker/key.json at start: one lane, so two never start at once.

bats_require_minimum_version 1.5.0
load e2e_helpers
load dockerd_private

setup_file() {
	e2e_setup_file || return 0
	local t
	dockerd_need || return 0
	e2e_need containerd containerd-shim-runc-v2 ctr runc busybox || return 0
	dockerd_init
	IMAGE=urunc-e2e:$E2E_SFX
	BBIMAGE=urunc-e2e-bb:$E2E_SFX
	export IMAGE BBIMAGE
	e2e_doc_block docker-daemon-json >"$D/daemon.doc.json"
	jq -e --arg p "$URUNC" '.runtimes.urunc.path = $p' "$D/daemon.doc.json" >"$D/daemon.json"
	# every container of this file runs the fake VMM (no real guest needed for these verbs)
	tl_monitor_config "$E2E_T/urunc.toml" qemu "$FAKEVMM"
	URUNC_CONFIG=$E2E_T/urunc.toml dockerd_start || return 1

	e2e_image_rootfs "$E2E_T/rootfs"
	tar -C "$E2E_T/rootfs" --numeric-owner --owner=0 --group=0 -cf "$E2E_T/rootfs.tar" .
	dk import -c 'CMD ["hello", "verbs"]' "$E2E_T/rootfs.tar" "$IMAGE" >/dev/null
	# busybox: a plain Linux image, which urunc hands to runc
	mkdir -p "$E2E_T/bb/bin"
	cp "$(command -v busybox)" "$E2E_T/bb/bin/busybox"
	for t in sh sleep echo cat; do ln -s busybox "$E2E_T/bb/bin/$t"; done
	tar -C "$E2E_T/bb" --numeric-owner --owner=0 --group=0 -cf "$E2E_T/bb.tar" .
	dk import "$E2E_T/bb.tar" "$BBIMAGE" >/dev/null
}

teardown_file() {
	[ -n "${E2E_T:-}" ] || return 0
	dockerd_stop
	e2e_rm_tmp
}

setup() { e2e_setup; }

fake_vmm_ready() { dk logs "$1" 2>&1 | grep -qxF "fakevmm: ready"; }
# cg <id> <controller>: the container's cgroup dir for that controller (its hierarchy)
cg() { echo "$(cg_root "$2")/$CGPARENT/$1"; }

@test "docker exec, pause/unpause and update --memory on a busybox container run with --runtime=urunc" {
	local id
	id=$(dk run -d --runtime=urunc "$BBIMAGE" sleep 300)
	echo "$id" >>"$E2E_T/ids"
	# runc's state, in the root docker gives urunc: urunc made nothing of its own
	[ -f "$D/exec/runtime-runc/moby/$id/state.json" ]
	[ "$(jq .urunc "$D/exec/runtime-runc/moby/$id/state.json")" = null ]
	run dk exec "$id" sh -c 'echo from-exec; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = from-exec ]
	run dk exec -e X=y "$id" sh -c 'echo $X'
	[ "$output" = y ]
	dk pause "$id" >/dev/null
	[ "$(dk inspect -f '{{.State.Paused}}' "$id")" = true ]
	[ "$(cat "$(cg "$id" freezer)/freezer.state")" = FROZEN ]
	dk unpause "$id" >/dev/null
	[ "$(dk inspect -f '{{.State.Paused}}' "$id")" = false ]
	[ "$(cat "$(cg "$id" freezer)/freezer.state")" = THAWED ]
	dk update --memory 64m --memory-swap 128m "$id" >/dev/null
	[ "$(cat "$(cg "$id" memory)/memory.limit_in_bytes")" = 67108864 ]
	dk rm -f "$id" >/dev/null
}

@test "docker pause/unpause, update --memory and a refused exec on a unikernel (fake VMM)" {
	local id pid
	id=$(dk run -d --runtime=urunc "$IMAGE")
	echo "$id" >>"$E2E_T/ids"
	e2e_wait 20 fake_vmm_ready "$id" || { dk logs "$id"; false; }
	jq -e .urunc "$D/exec/runtime-runc/moby/$id/state.json" >/dev/null
	pid=$(dk inspect -f '{{.State.Pid}}' "$id")
	dk pause "$id" >/dev/null
	[ "$(dk inspect -f '{{.State.Paused}}' "$id")" = true ]
	[ "$(cat "$(cg "$id" freezer)/freezer.state")" = FROZEN ]
	grep -q '^State:[[:space:]]*D' "/proc/$pid/status"
	dk unpause "$id" >/dev/null
	[ "$(dk inspect -f '{{.State.Paused}}' "$id")" = false ]
	[ "$(cat "$(cg "$id" freezer)/freezer.state")" = THAWED ]
	# above the guest's 256 MiB: the VMM's cgroup changes
	dk update --memory 512m --memory-swap 1g "$id" >/dev/null
	[ "$(cat "$(cg "$id" memory)/memory.limit_in_bytes")" = 536870912 ]
	# below it: refused with urunc's reason
	run dk update --memory 64m --memory-swap 128m "$id"
	[ "$status" -ne 0 ]
	[[ $output == *"guest's memory"* ]] || { echo "$output"; false; }
	run dk exec "$id" sh
	[ "$status" -ne 0 ]
	[[ $output == *"exec is not supported for unikernel containers"* ]] || { echo "$output"; false; }
	[ "$(dk inspect -f '{{.State.Status}}' "$id")" = running ]
	dk rm -f "$id" >/dev/null
}
