#!/usr/bin/env bats
# urunc behind containerd 1.6 (Debian's containerd and ctr): the io.containerd.runc.v2 shim
# with urunc as its runc binary (`ctr run --runc-binary`), which is what a containerd
# runtime entry with `BinaryName = urunc` does. A private containerd (containerd_private.bash:
# own config, root, state and sockets under $E2E_T, CRI disabled) runs in the namespace that
# hides /dev/kvm.
# The image is an OCI layout tarball made by hand (kernel + urunc.json), imported with
# `ctr images import`: no registry.

bats_require_minimum_version 1.5.0
load e2e_helpers
load containerd_private
load net_guest

setup_file() {
	e2e_setup_file || return 0
	e2e_need containerd ctr containerd-shim-runc-v2 runc busybox || return 0
	cpriv_need || return 0
	# URUNC_CONFIG reaches urunc through containerd and the shim (see the kill test).
	export CPRIV_ENV="URUNC_CONFIG=$E2E_T/urunc.toml"
	cpriv_start || return 1
	# the images here are unpacked by containerd's default snapshotter, overlayfs
	SOCK=$CPRIV_SOCK
	NS=$CPRIV_NS                          # ctr namespace; also the cgroup parent (/<ns>/<id>)
	RUNC_ROOT=$CPRIV_RUNC_ROOT            # urunc's --root is <RUNC_ROOT>/<ns>
	CONTAINERD_PID=$CPRIV_PID
	CONTAINERD_MNTNS=$CPRIV_MNTNS
	IMAGE=localhost/urunc-e2e:$E2E_SFX
	BROKEN_IMAGE=localhost/urunc-e2e-broken:$E2E_SFX
	BARE_IMAGE=localhost/urunc-e2e-bare:$E2E_SFX
	LINUX_IMAGE=localhost/urunc-e2e-linux:$E2E_SFX
	export SOCK NS RUNC_ROOT CONTAINERD_PID CONTAINERD_MNTNS IMAGE BROKEN_IMAGE BARE_IMAGE LINUX_IMAGE
	e2e_pin_mntns "$CONTAINERD_PID"

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
	[ -n "${E2E_T:-}" ] || return 0
	cpriv_stop
	e2e_rm_tmp
}

setup() { e2e_setup; }

teardown() {
	[ -n "${E2E_T:-}" ] || return 0
	rm -f "$E2E_T/urunc.toml"
	# The CNI test's namespace holder: its bridge and mounts go with it.
	if [ -s "$E2E_T/cni-holder.pid" ]; then
		kill -KILL "$(cat "$E2E_T/cni-holder.pid")" 2>/dev/null || true
		rm -f "$E2E_T/cni-holder.pid"
	fi
}

e2e_ctr() { cpriv_ctr "$@"; }

# ctr_run <--flag[=value]...> <id> [args...]: `ctr run` of ${RUN_IMAGE:-$IMAGE} through
# the runc v2 shim with urunc as the runtime binary; the id is recorded for teardown.
ctr_run() { CPRIV_IMAGE=${RUN_IMAGE:-$IMAGE} CPRIV_SNAPSHOTTER=overlayfs cpriv_run "$@"; }

# assert_container_gone <id>: containerd and urunc forgot the container, nothing of it
# remains: urunc state dir, bundle, snapshot and mounts, cgroups, shim.
assert_container_gone() {
	local id=$1 left
	# Each listing's own status first: a client that fails lists nothing, which is not "gone".
	left=$(e2e_ctr containers ls -q) || { echo "ctr containers ls failed: $left"; return 1; }
	! grep -qxF "$id" <<<"$left" || { echo "container $id still listed"; return 1; }
	[ ! -e "$RUNC_ROOT/$NS/$id" ] || { echo "urunc state left: $(find "$RUNC_ROOT/$NS/$id")"; return 1; }
	[ ! -e "$CPRIV_DIR/state/io.containerd.runtime.v2.task/$NS/$id" ] || { echo "bundle left"; return 1; }
	left=$(e2e_ctr snapshots ls) || { echo "ctr snapshots ls failed: $left"; return 1; }
	! grep -qw "$id" <<<"$left" || { echo "snapshot $id left"; return 1; }
	left=$(nsenter -t "$CONTAINERD_PID" -m findmnt -rn -o TARGET) || { echo "findmnt failed: $left"; return 1; }
	left=$(grep -F "/$id" <<<"$left" || true)
	[ -z "$left" ] || { echo "mounts left: $left"; return 1; }
	left=$(tl_cgroup_find -mindepth 3 -type d -path "*/$NS/$id" 2>/dev/null)
	[ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
	# the shim leaves after the container is deleted, asynchronously
	if ! e2e_wait 10 only_containerd_left; then
		echo "processes left beside containerd:"
		ps -o pid,comm,args -p "$(cpriv_pids_in_mntns "$CONTAINERD_MNTNS" | paste -sd,)"
		return 1
	fi
}

only_containerd_left() { [ "$(cpriv_pids_in_mntns "$CONTAINERD_MNTNS")" = "$CONTAINERD_PID" ]; }

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

# freezer_state <cgroup path>: FROZEN or THAWED, from the freezer hierarchy (v1 freezer.state)
# or cgroup2 (cgroup.events' "frozen" key).
freezer_state() {
	local r
	r=$(cg_root freezer) || return 1
	if [ -f "$r$1/freezer.state" ]; then
		cat "$r$1/freezer.state"
	else
		awk '$1 == "frozen" { print ($2 == 1 ? "FROZEN" : "THAWED") }' "$r$1/cgroup.events"
	fi
}

task_stopped() { e2e_ctr tasks ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }

@test "ctr task pause/resume of a unikernel (fake VMM): PAUSED with the VMM frozen, then RUNNING; ctr task exec refused" {
	local id=pause-$E2E_SFX log=$E2E_T/pause.log pid
	printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$E2E_T/urunc.toml"
	run ctr_run -d --log-uri="file://$log" "$id"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	e2e_wait 20 e2e_file_has "$log" "fakevmm: ready" || { cat "$log"; false; }
	pid=$(e2e_ctr tasks ls | awk -v id="$id" '$1 == id && $3 == "RUNNING" { print $2 }')
	[ -n "$pid" ] || { e2e_ctr tasks ls; false; }
	e2e_ctr tasks pause "$id"
	[ "$(e2e_ctr tasks ls | awk -v id="$id" '$1 == id { print $3 }')" = PAUSED ]
	[ "$(freezer_state "/$NS/$id")" = FROZEN ]
	grep -q '^State:[[:space:]]*D' "/proc/$pid/status"
	[ "$("$URUNC" --root "$RUNC_ROOT/$NS" state "$id" | jq -r .status)" = paused ]
	e2e_ctr tasks resume "$id"
	[ "$(e2e_ctr tasks ls | awk -v id="$id" '$1 == id { print $3 }')" = RUNNING ]
	[ "$(freezer_state "/$NS/$id")" = THAWED ]
	run e2e_ctr tasks exec --exec-id x1 "$id" sh
	[ "$status" -ne 0 ]
	[[ $output == *"exec is not supported for unikernel containers"* ]] || { echo "$output"; false; }
	e2e_ctr tasks kill -s SIGKILL "$id"
	e2e_wait 20 task_stopped "$id" || { e2e_ctr tasks ls; false; }
	e2e_ctr tasks delete "$id" >/dev/null
	e2e_ctr containers rm "$id"
	assert_container_gone "$id"
}

# cni_holder <dir>: a process in a network and mount namespace of its own where
# /etc/cni/net.d is <dir>/net.d and /opt/cni/bin is Debian's /usr/lib/cni: `ctr run --cni`
# reads exactly those fixed paths (no flag changes them), and the bridge CNI makes lives in
# this network namespace, never the host's. Sets CNI_HOLDER.
cni_holder() {
	unshare -m -n --propagation private sh -c '
		mount --bind "$1/net.d" /etc/cni/net.d &&
		mount -t tmpfs -o mode=0755 tmpfs /opt && mkdir -p /opt/cni/bin &&
		mount --bind /usr/lib/cni /opt/cni/bin && ip link set lo up && exec sleep 900' \
		cni-holder "$1" </dev/null >"$1/holder.log" 2>&1 3>&- &
	CNI_HOLDER=$!
	echo "$CNI_HOLDER" >"$E2E_T/cni-holder.pid"
	e2e_wait 10 cni_holder_ready || { cat "$1/holder.log"; return 1; }
}

cni_holder_ready() { [ "$(readlink "/proc/$CNI_HOLDER/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]; }

@test "ctr run --cni (bridge + host-local): the Linux guest answers HTTP on the address CNI gave the container" {
	local id=ngcni-$E2E_SFX image=localhost/urunc-e2e-net:$E2E_SFX cni=$E2E_T/cni br=urbr${E2E_SFX:0:8} ip page
	local subnet=10.$((0x${E2E_SFX:0:2} % 64 + 128)).$((0x${E2E_SFX:2:2})).0
	ng_rootfs "$E2E_T/ngroot" || skip "$NG_WHY"
	e2e_oci_image "$E2E_T/ngroot" "$E2E_T/ng.tar" "$image" '{"Cmd": ["/init"]}'
	e2e_ctr images import "$E2E_T/ng.tar" >/dev/null
	mkdir -p "$cni/net.d" "$cni/ipam"
	e2e_doc_block ctr-cni-conflist | jq --arg br "$br" --arg sn "$subnet/24" --arg dd "$cni/ipam" \
		'.plugins[0].bridge = $br | .plugins[0].ipam.subnet = $sn | .plugins[0].ipam.dataDir = $dd' \
		>"$cni/net.d/10-urunc-e2e.conflist"
	cni_holder "$cni"
	cpriv_track_id "$id"
	nsenter -t "$CNI_HOLDER" -m -n timeout -k 5 60 ctr -a "$CPRIV_SOCK" -n "$CPRIV_NS" run -d --cni \
		--snapshotter overlayfs --runtime io.containerd.runc.v2 --runc-binary "$URUNC" \
		--runc-root "$CPRIV_RUNC_ROOT" --fifo-dir "$CPRIV_DIR/fifo" --log-uri "file://$E2E_T/$id.log" \
		"$image" "$id"
	e2e_wait 300 ng_ready_in "$E2E_T/$id.log" || { cat "$E2E_T/$id.log"; false; }
	# The address host-local gave eth0 is what the guest took (the first of the subnet
	# after the gateway), and it answers from the bridge's side.
	ip=$(sed 's/\r$//' "$E2E_T/$id.log" | sed -n 's/^NETINIT: ready ip=\([0-9.]*\) .*/\1/p')
	[ "$ip" = "${subnet%.0}.2" ]
	grep -q "gw=${subnet%.0}.1 " "$E2E_T/$id.log"
	page=$(ng_fetch -t "$CNI_HOLDER" -n -- "$ip")
	[[ $page == "urunc guest ip=$ip mac="* ]] || { echo "page: $page"; false; }
	e2e_ctr tasks kill -s SIGKILL "$id"
	e2e_wait 30 task_stopped "$id" || { e2e_ctr tasks ls; false; }
	e2e_ctr tasks delete "$id" >/dev/null
	e2e_ctr containers rm "$id"
	assert_container_gone "$id"
	e2e_ctr images rm "$image" >/dev/null
}
