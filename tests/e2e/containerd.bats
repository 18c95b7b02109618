#!/usr/bin/env bats
# urunc behind containerd 1.6 (Debian's containerd and ctr): the io.containerd.runc.v2 shim
# with urunc as its runc binary (`ctr run --runc-binary`), which is what a containerd
# runtime entry with `BinaryName = urunc` does. A private containerd (own config, root,
# state and socket under $E2E_T, CRI disabled) runs in the namespace that hides /dev/kvm.
# The image is an OCI layout tarball made by hand (kernel + urunc.json), imported with
# `ctr images import`: no registry.

bats_require_minimum_version 1.5.0
load e2e_helpers

setup_file() {
	e2e_setup_file || return 0
	e2e_need containerd ctr containerd-shim-runc-v2 runc busybox || return 0
	C=$E2E_T/containerd                  # containerd's root, state and sockets
	SOCK=$C/containerd.sock
	NS=urunc-e2e-$E2E_SFX                # ctr namespace; also the cgroup parent (/<ns>/<id>)
	RUNC_ROOT=$E2E_T/runc                # urunc's --root is <RUNC_ROOT>/<ns>
	IMAGE=localhost/urunc-e2e:$E2E_SFX
	BROKEN_IMAGE=localhost/urunc-e2e-broken:$E2E_SFX
	BARE_IMAGE=localhost/urunc-e2e-bare:$E2E_SFX
	LINUX_IMAGE=localhost/urunc-e2e-linux:$E2E_SFX
	export C SOCK NS RUNC_ROOT IMAGE BROKEN_IMAGE BARE_IMAGE LINUX_IMAGE
	: >"$E2E_T/ids"

	# The shim puts its socket in /run/containerd/s whatever containerd's own paths are.
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
	# URUNC_CONFIG reaches urunc through containerd and the shim (see the kill test).
	URUNC_CONFIG=$E2E_T/urunc.toml "${E2E_HIDEKVM[@]}" containerd --config "$C.toml" \
		</dev/null >"$E2E_T/containerd.log" 2>&1 3>&- &
	echo $! >"$E2E_T/containerd.pid"
	CONTAINERD_PID=$(cat "$E2E_T/containerd.pid")
	if ! e2e_wait_daemon "$CONTAINERD_PID" 30 ctr_ready; then
		tail -n 20 "$E2E_T/containerd.log"
		return 1
	fi
	CONTAINERD_MNTNS=$(e2e_mntns "$CONTAINERD_PID")
	e2e_pin_mntns "$CONTAINERD_PID"
	export CONTAINERD_PID CONTAINERD_MNTNS
	[ "$CONTAINERD_MNTNS" != "$(e2e_mntns $$)" ]

	e2e_image_rootfs "$E2E_T/rootfs"
	e2e_oci_image "$E2E_T/rootfs" "$E2E_T/image.tar" "$IMAGE" \
		'{"Cmd": ["hello", "image"], "Env": ["PATH=/bin", "URUNC_E2E=image"]}'
	e2e_ctr images import "$E2E_T/image.tar"
	# the same with urunc.json naming a kernel the image does not have
	e2e_image_rootfs "$E2E_T/broken" /unikernel/missing
	e2e_oci_image "$E2E_T/broken" "$E2E_T/broken.tar" "$BROKEN_IMAGE" '{"Cmd": ["hello"]}'
	e2e_ctr images import "$E2E_T/broken.tar"
	# the kernel without urunc.json: the configuration must come from annotations
	e2e_image_rootfs "$E2E_T/bare" -
	e2e_oci_image "$E2E_T/bare" "$E2E_T/bare.tar" "$BARE_IMAGE" '{"Cmd": ["hello", "bare"]}'
	e2e_ctr images import "$E2E_T/bare.tar"
	# an ordinary Linux image (static busybox): urunc hands it to runc
	mkdir -p "$E2E_T/linux/bin"
	cp "$(command -v busybox)" "$E2E_T/linux/bin/busybox"
	e2e_oci_image "$E2E_T/linux" "$E2E_T/linux.tar" "$LINUX_IMAGE" \
		'{"Cmd": ["/bin/busybox", "echo", "hello from runc"]}'
	e2e_ctr images import "$E2E_T/linux.tar"
}

teardown_file() {
	local id
	[ -n "${E2E_T:-}" ] || return 0
	e2e_stop_pid "$(cat "$E2E_T/containerd.pid" 2>/dev/null)" 10
	e2e_kill_mntns "${CONTAINERD_MNTNS:-}"  # shims and urunc calls
	e2e_kill_cgroups "${NS:-}"              # VMMs
	# sockets of shims that were killed: /run/containerd/s/sha256(<address>/<ns>/<id>)
	while read -r id; do
		[ -n "$id" ] && rm -f "/run/containerd/s/$(printf '%s' "$SOCK/$NS/$id" | sha256sum | cut -d' ' -f1)"
	done <"$E2E_T/ids" 2>/dev/null || true
	e2e_rm_tmp
}

setup() { e2e_setup; }

teardown() { [ -z "${E2E_T:-}" ] || rm -f "$E2E_T/urunc.toml"; }

ctr_ready() { [ -S "$SOCK" ] && ctr -a "$SOCK" version >/dev/null 2>&1; }

e2e_ctr() { timeout -k 5 "${CTR_TIMEOUT:-60}" ctr -a "$SOCK" -n "$NS" "$@"; }

# ctr_run <--flag[=value]...> <id> [args...]: `ctr run` of ${RUN_IMAGE:-$IMAGE} through
# the runc v2 shim with urunc as the runtime binary; the id is recorded for teardown.
ctr_run() {
	local flags=()
	while [[ $1 == -* ]]; do flags+=("$1"); shift; done
	echo "$1" >>"$E2E_T/ids"
	e2e_ctr run "${flags[@]}" --runtime io.containerd.runc.v2 --runc-binary "$URUNC" \
		--runc-root "$RUNC_ROOT" --fifo-dir "$E2E_T/fifo" "${RUN_IMAGE:-$IMAGE}" "$@"
}

# assert_container_gone <id>: containerd and urunc forgot the container, nothing of it
# remains: urunc state dir, bundle, snapshot and mounts, cgroups, shim.
assert_container_gone() {
	local id=$1 left
	# Each listing's own status first: a client that fails lists nothing, which is not "gone".
	left=$(e2e_ctr containers ls -q) || { echo "ctr containers ls failed: $left"; return 1; }
	! grep -qxF "$id" <<<"$left" || { echo "container $id still listed"; return 1; }
	[ ! -e "$RUNC_ROOT/$NS/$id" ] || { echo "urunc state left: $(find "$RUNC_ROOT/$NS/$id")"; return 1; }
	[ ! -e "$C/state/io.containerd.runtime.v2.task/$NS/$id" ] || { echo "bundle left"; return 1; }
	left=$(e2e_ctr snapshots ls) || { echo "ctr snapshots ls failed: $left"; return 1; }
	! grep -qw "$id" <<<"$left" || { echo "snapshot $id left"; return 1; }
	left=$(nsenter -t "$CONTAINERD_PID" -m findmnt -rn -o TARGET) || { echo "findmnt failed: $left"; return 1; }
	left=$(grep -F "/$id" <<<"$left" || true)
	[ -z "$left" ] || { echo "mounts left: $left"; return 1; }
	left=$(find /sys/fs/cgroup -mindepth 3 -type d -path "*/$NS/$id" 2>/dev/null)
	[ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
	# the shim leaves after the container is deleted, asynchronously
	if ! e2e_wait 10 only_containerd_left; then
		echo "processes left beside containerd:"
		ps -o pid,comm,args -p "$(e2e_pids_in_mntns "$CONTAINERD_MNTNS" | paste -sd,)"
		return 1
	fi
}

only_containerd_left() { [ "$(e2e_pids_in_mntns "$CONTAINERD_MNTNS")" = "$CONTAINERD_PID" ]; }

@test "the CRI runtime of docs/integrations.md is understood by containerd (config dump)" {
	e2e_doc_block containerd-cri >"$E2E_T/cri.toml"
	run --separate-stderr timeout 20 containerd --config "$E2E_T/cri.toml" config dump
	[ "$status" -eq 0 ] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
	# the runtime's table and its options table, as containerd parsed them
	local rt=plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.urunc
	dump_has "$rt" 'runtime_type = "io.containerd.runc.v2"'
	dump_has "$rt" 'container_annotations = ["com.urunc.unikernel.*"]'
	dump_has "$rt" 'pod_annotations = ["com.urunc.unikernel.*"]'
	dump_has "$rt.options" 'BinaryName = "/usr/local/bin/urunc"'
}

# dump_has <table> <line>: the TOML in $output has <line> in [<table>] (blanks trimmed).
dump_has() {
	awk -v t="[$1]" '{ sub(/^ +/, "") } $0 == t { on = 1; next } /^\[/ { on = 0 } on' <<<"$output" |
		grep -qxF -- "$2" && return 0
	printf 'no `%s` in [%s] of:\n%s\n' "$2" "$1" "$output"
	return 1
}

@test "ctr run --rm: the guest's output with the given args on ctr's stdout" {
	local id=run1-$E2E_SFX
	run --separate-stderr ctr_run --rm "$id" hello ctr
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello ctr"
	# urunc's own log lines (e.g. the TCG warning) go to the shim's log.json, not the task
	[[ $output$stderr != *"KVM is not usable"* ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
	assert_container_gone "$id"
}

@test "ctr run --rm without args: the image's Cmd and Env, plus --env, reach the guest" {
	local id=run2-$E2E_SFX
	run --separate-stderr ctr_run --rm --env=FROM_CTR=yes "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello image"
	e2e_assert_line_has "URUNC_E2E=image"
	e2e_assert_line_has "FROM_CTR=yes"
	assert_container_gone "$id"
}

@test "ctr run --annotation com.urunc.unikernel.*: an image without urunc.json boots from annotations" {
	# what CRI does with pod annotations listed in `pod_annotations` (docs/integrations.md)
	local id=annot-$E2E_SFX
	RUN_IMAGE=$BARE_IMAGE run --separate-stderr ctr_run --rm \
		--annotation=com.urunc.unikernel.unikernelType=unikraft \
		--annotation=com.urunc.unikernel.hypervisor=qemu \
		--annotation=com.urunc.unikernel.binary=/unikernel/kernel "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello bare"
	assert_container_gone "$id"
}

@test "ctr run of an ordinary Linux image through urunc: handed to runc, runs as a container" {
	# the pod sandbox (pause) container under a urunc RuntimeClass takes this path
	local id=linux-$E2E_SFX
	RUN_IMAGE=$LINUX_IMAGE run --separate-stderr ctr_run --rm "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	[ "$output" = "hello from runc" ] || { printf 'stdout: %s\nstderr: %s\n' "$output" "$stderr"; false; }
	assert_container_gone "$id"
}

@test "a CRI sandbox (pause) container with pod-level com.urunc.unikernel.* annotations goes to runc" {
	# What CRI gives the pause container of a pod annotated for urunc: the pod's
	# annotations (listed in pod_annotations) plus the container type.
	local id=sandbox-$E2E_SFX
	RUN_IMAGE=$LINUX_IMAGE run --separate-stderr ctr_run --rm \
		--annotation=com.urunc.unikernel.unikernelType=unikraft \
		--annotation=com.urunc.unikernel.hypervisor=qemu \
		--annotation=com.urunc.unikernel.binary=/unikernel/kernel \
		--annotation=io.kubernetes.cri.container-type=sandbox "$id"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	[ "$output" = "hello from runc" ] || { printf 'stdout: %s\nstderr: %s\n' "$output" "$stderr"; false; }
	assert_container_gone "$id"
}

@test "ctr run of an image whose kernel is missing: urunc's error reaches ctr, nothing left" {
	local id=broken-$E2E_SFX
	RUN_IMAGE=$BROKEN_IMAGE run --separate-stderr ctr_run --rm "$id"
	[ "$status" -ne 0 ] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
	# containerd read the message from the error line urunc wrote to --log (log.json)
	[[ $stderr == *"OCI runtime create failed: kernel: open \`/unikernel/missing\`"*"No such file or directory"* ]] ||
		{ printf 'unexpected error:\n%s\n' "$stderr"; false; }
	assert_container_gone "$id"
}

@test "ctr run -d, task kill, task delete, container rm (fake VMM via URUNC_CONFIG): exit 143, nothing left" {
	local id=kill-$E2E_SFX log=$E2E_T/kill.log pid
	# containerd was started with URUNC_CONFIG naming this file: the shim and urunc
	# inherit it, so the VMM must turn out to be the fake one (it waits for signals).
	printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$E2E_T/urunc.toml"
	run ctr_run -d --log-uri="file://$log" "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	e2e_wait 20 e2e_file_has "$log" "fakevmm: ready" || { cat "$log"; false; }
	grep -qxF "fakevmm: argv[0]=$FAKEVMM" "$log" || { echo "not the fake VMM:"; cat "$log"; false; }
	grep -F "fakevmm: cgroup=" "$log" | grep -qF ":/$NS/$id" || { echo "not in cgroup /$NS/$id:"; cat "$log"; false; }

	pid=$(e2e_ctr tasks ls | awk -v id="$id" '$1 == id && $3 == "RUNNING" { print $2 }')
	[ -n "$pid" ] || { e2e_ctr tasks ls; false; }
	[ -f "$RUNC_ROOT/$NS/$id/state.json" ] || { echo "no urunc state under $RUNC_ROOT/$NS"; false; }

	e2e_ctr tasks kill "$id"
	e2e_wait 20 task_stopped "$id" || { e2e_ctr tasks ls; false; }
	e2e_file_has "$log" "fakevmm: signal=15"
	run e2e_ctr tasks delete "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# ctr reports the exit status it got from the shim
	e2e_assert_line_has "exit code 143"
	e2e_ctr containers rm "$id"
	e2e_gone "$pid" || { echo "the VMM (pid $pid) still runs"; false; }
	assert_container_gone "$id"
}

task_stopped() { e2e_ctr tasks ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }
