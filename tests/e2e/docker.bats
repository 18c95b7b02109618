#!/usr/bin/env bats
# urunc behind Docker 20.10 (Debian's docker.io: /usr/sbin/dockerd and the /usr/bin/docker
# client; /usr/local/bin/docker may be a newer client): a private dockerd (data and exec
# roots, pid file and socket under $E2E_T, no iptables, no default bridge) with urunc
# registered in its daemon.json `runtimes`, run in the namespace that hides /dev/kvm and in
# a network namespace of its own, so that the bridge network of the network test never
# touches the host's. dockerd starts its own containerd, which starts the runc v2 shim,
# which calls urunc.
# The image is `docker import` of a tarball holding the kernel and urunc.json.
# urunc-test-lane: dockerd -- with verbs.bats: both start a dockerd 20.10, which creates and
# reads the host-wide /etc/docker/key.json at start: one lane, so two never start at once.

bats_require_minimum_version 1.5.0
load e2e_helpers
load dockerd_private
load net_guest

setup_file() {
	e2e_setup_file || return 0
	dockerd_need || return 0
	e2e_need containerd containerd-shim-runc-v2 || return 0
	dockerd_init
	IMAGE=urunc-e2e:$E2E_SFX
	export IMAGE
	# the daemon.json of docs/integrations.md, with this build's urunc
	e2e_doc_block docker-daemon-json >"$D/daemon.doc.json"
	# plus urunc-view-shim as a second runtime (the snapshot view shim: docker's containers
	# have no containerd snapshot, so it must pass them through untouched)
	jq -e --arg p "$URUNC" --arg s "$URUNC_BUILD/src/shim/urunc-view-shim" \
		'if .runtimes.urunc.path then .runtimes.urunc.path = $p | .runtimes["urunc-view"].path = $s
		 else error("no runtimes.urunc.path") end' \
		"$D/daemon.doc.json" >"$D/daemon.json"
	# URUNC_CONFIG reaches urunc through dockerd, its containerd and the shim (stop test).
	URUNC_CONFIG=$E2E_T/urunc.toml dockerd_start || return 1
	[ "$DOCKERD_MNTNS" != "$(e2e_mntns $$)" ]

	e2e_image_rootfs "$E2E_T/rootfs"
	tar -C "$E2E_T/rootfs" --numeric-owner --owner=0 --group=0 -cf "$E2E_T/rootfs.tar" .
	dk import -c 'CMD ["hello", "image"]' -c 'ENV URUNC_E2E=image' "$E2E_T/rootfs.tar" "$IMAGE"
}

teardown_file() {
	[ -n "${E2E_T:-}" ] || return 0
	dockerd_stop
	e2e_rm_tmp
}

setup() { e2e_setup; }

teardown() { [ -z "${E2E_T:-}" ] || rm -f "$E2E_T/urunc.toml"; }

# assert_container_gone <id>: dockerd, containerd and urunc forgot the container, nothing
# of it remains: urunc state dir, bundle, cgroups, shim.
assert_container_gone() {
	local id=$1 left
	# The listing's own status first: a client that fails lists nothing, which is not "gone".
	left=$(dk ps -aq --no-trunc) || { echo "docker ps failed: $left"; return 1; }
	! grep -qxF "$id" <<<"$left" || { echo "container $id still listed"; return 1; }
	left=$(find "$D/exec" -name "$id*" 2>/dev/null)
	[ -z "$left" ] || { echo "left under the exec root: $left"; return 1; }
	left=$(tl_cgroup_find -mindepth 3 -type d -path "*/$CGPARENT/$id" 2>/dev/null)
	[ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
	left=$(nsenter -t "$DOCKERD_PID" -m findmnt -rn -o TARGET) || { echo "findmnt failed: $left"; return 1; }
	left=$(grep -F "$id" <<<"$left" || true)
	[ -z "$left" ] || { echo "mounts left: $left"; return 1; }
	if ! e2e_wait 10 only_daemons_left; then
		echo "processes left beside dockerd and containerd:"
		ps -o pid,comm,args -p "$(e2e_pids_in_mntns "$DOCKERD_MNTNS" | paste -sd,)"
		return 1
	fi
}

# Left in dockerd's namespace: dockerd and its containerd, no shim, no urunc.
only_daemons_left() {
	local pid
	for pid in $(e2e_pids_in_mntns "$DOCKERD_MNTNS"); do
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		dockerd | containerd | "") ;;
		*) return 1 ;;
		esac
	done
}

@test "docker run --rm --runtime=urunc: the guest's output with the given args" {
	run --separate-stderr dk run --rm --runtime=urunc "$IMAGE" hello docker
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello docker"
	# urunc's own log lines (e.g. the TCG warning) go to the shim's log.json, not the container
	[[ $output$stderr != *"KVM is not usable"* ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
	run dk ps -aq
	[ "$status" -eq 0 ] || { echo "docker ps failed: $output"; false; }
	[ -z "$output" ] || { dk ps -a; false; }
}

@test "docker run --runtime=urunc-view (the view shim): no containerd snapshot, passed through untouched" {
	printf '[snapshot_view]\nviews_dir = "%s"\n[view_shim]\nurunc_path = "%s"\n' "$E2E_T/views" "$URUNC" \
		>"$E2E_T/urunc.toml"
	run --separate-stderr dk run --rm --runtime=urunc-view "$IMAGE" hello shim
	rm -f "$E2E_T/urunc.toml"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello shim"
	# no view, no marker, no warning: the shim found no snapshot and only ran urunc
	[ -z "$(find "$E2E_T/views" -mindepth 1 -not -name containers 2>/dev/null)" ] || { find "$E2E_T/views"; false; }
	[[ $output$stderr != *"snapshot view"* ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
	[ -z "$(dk ps -aq)" ] || { dk ps -a; false; }
}

@test "docker run --rm without args: the image's CMD and ENV, plus -e, reach the guest" {
	run --separate-stderr dk run --rm --runtime=urunc -e FROM_DOCKER=yes "$IMAGE"
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello image"
	e2e_assert_line_has "URUNC_E2E=image"
	e2e_assert_line_has "FROM_DOCKER=yes"
}

@test "docker run -d, docker wait, docker logs, docker rm: QEMU exits 0, output in the logs" {
	local id
	id=$(dk run -d --runtime=urunc "$IMAGE" hello logs)
	echo "$id" >>"$E2E_T/ids"
	run dk wait "$id"
	[ "$status" -eq 0 ] && [ "$output" = 0 ] || { echo "docker wait: $output (status $status)"; false; }
	run dk logs "$id"
	e2e_assert_guest_output "hello logs"
	dk rm "$id" >/dev/null
	assert_container_gone "$id"
}

@test "docker run -d and docker stop -t 2 (fake VMM via URUNC_CONFIG): SIGTERM, exit 143, nothing left" {
	local id pid
	# dockerd was started with URUNC_CONFIG naming this file; its containerd, the shim
	# and urunc inherit it, so the VMM must turn out to be the fake one.
	printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$E2E_T/urunc.toml"
	id=$(dk run -d --runtime=urunc "$IMAGE")
	echo "$id" >>"$E2E_T/ids"
	e2e_wait 20 fake_vmm_ready "$id" || { dk logs "$id"; false; }
	run dk logs "$id"
	e2e_assert_line_has "fakevmm: argv[0]=$FAKEVMM"
	e2e_assert_line_has "fakevmm: cgroup="
	grep -F "fakevmm: cgroup=" <<<"$output" | grep -qF ":/$CGPARENT/$id"
	pid=$(dk inspect -f '{{.State.Pid}}' "$id")
	[ -f "$D/exec/runtime-runc/moby/$id/state.json" ] || { echo "no urunc state under the docker runc root"; false; }

	dk stop -t 2 "$id" >/dev/null
	run dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
	# 143 = 128 + SIGTERM: the VMM got docker's SIGTERM; 137 would mean docker escalated to SIGKILL
	[ "$output" = "exited 143" ] || { echo "after docker stop: $output"; dk logs "$id"; false; }
	run dk logs "$id"
	e2e_assert_line_has "fakevmm: signal=15"
	e2e_gone "$pid" || { echo "the VMM (pid $pid) still runs"; false; }
	dk rm "$id" >/dev/null
	assert_container_gone "$id"
}

fake_vmm_ready() { dk logs "$1" 2>&1 | grep -qxF "fakevmm: ready"; }

@test "docker run on a bridge network: the guest takes over the container's address (its own tap)" {
	local net=net-$E2E_SFX id mac ip gw
	dk network create --driver bridge "$net" >/dev/null
	printf '[monitors.qemu]\npath = "%s"\n' "$FAKEVMM" >"$E2E_T/urunc.toml"
	id=$(dk run -d --runtime=urunc --network "$net" "$IMAGE")
	echo "$id" >>"$E2E_T/ids"
	e2e_wait 20 fake_vmm_ready "$id" || { dk logs "$id"; false; }
	mac=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").MacAddress}}" "$id")
	ip=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}/{{(index .NetworkSettings.Networks \"$net\").IPPrefixLen}}" "$id")
	gw=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").Gateway}}" "$id")
	run dk logs "$id"
	# QEMU gets the tap and the container interface's MAC; the guest its address and gateway
	# (the tap is named after the container id: tap<6 digits>_urunc)
	grep -qE -- "=tap,id=net0,script=no,downscript=no,ifname=tap[0-9]{6}_urunc$" <<<"$output" ||
		{ printf 'no tap<6 digits>_urunc netdev in:\n%s\n' "$output"; false; }
	e2e_assert_line_has ",mac=$mac"
	e2e_assert_line_has " netdev.ip=$ip:$gw:"
	dk rm -f "$id" >/dev/null
	assert_container_gone "$id"

	# and a real QEMU opens that tap and boots
	rm -f "$E2E_T/urunc.toml"
	run --separate-stderr dk run --rm --runtime=urunc --network "$net" "$IMAGE" hello net
	[ "$status" -eq 0 ] || { printf '%s\n%s\nstatus %s\n' "$output" "$stderr" "$status"; false; }
	e2e_assert_guest_output "hello net"
	e2e_assert_line_has " netdev.ip="
	# no endpoint left behind: the network can go
	dk network rm "$net" >/dev/null
}

ng_docker_ready() { dk logs "$1" 2>&1 | sed 's/\r$//' | grep -q '^NETINIT: ready'; }

@test "docker run -p on a user-defined bridge: the Linux guest answers HTTP on the container's address and on the published port" {
	local net=netg-$E2E_SFX image=urunc-e2e-net:$E2E_SFX id ip mac page
	ng_rootfs "$E2E_T/ngroot" || skip "$NG_WHY"
	tar -C "$E2E_T/ngroot" --numeric-owner --owner=0 --group=0 -cf "$E2E_T/ngroot.tar" .
	dk import -c 'CMD ["/init"]' "$E2E_T/ngroot.tar" "$image" >/dev/null
	dk network create --driver bridge "$net" >/dev/null
	id=$(dk run -d --runtime=urunc --network "$net" -p 18080:80 "$image")
	echo "$id" >>"$E2E_T/ids"
	e2e_wait 300 ng_docker_ready "$id" || { dk logs "$id"; false; }
	ip=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$id")
	mac=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").MacAddress}}" "$id")
	[ -n "$ip" ]
	# dockerd's network namespace is the "host" here (the bridge and docker-proxy live in it).
	page=$(ng_fetch --net="/proc/$DOCKERD_PID/ns/net" -- "$ip")
	[ "$page" = "urunc guest ip=$ip mac=$mac" ]
	# The published port on the host: docker-proxy forwards it to the container's address.
	page=$(ng_fetch --net="/proc/$DOCKERD_PID/ns/net" -- 127.0.0.1:18080)
	[ "$page" = "urunc guest ip=$ip mac=$mac" ]
	pgrep -f "docker-proxy .*-host-port 18080 .*-container-ip $ip" >/dev/null
	dk rm -f "$id" >/dev/null
	assert_container_gone "$id"
	dk network rm "$net" >/dev/null
	dk rmi "$image" >/dev/null
}
