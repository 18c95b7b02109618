#!/usr/bin/env bats
# urunc behind podman 4.3 (Debian's podman, conmon, CNI): a client nobody here wrote. podman
# runs with the containers.conf of docs/integrations.md (this build's urunc) through
# CONTAINERS_CONF, a private storage root, run root, tmp dir and CNI config dir under $E2E_T,
# and it runs inside a holder process's own mount and network namespaces (/dev/kvm hidden
# there), so its bridge, netns mounts and overlay mounts never touch the host's.
# The guest is the Linux network guest (net_guest.bash) imported with `podman import`.

bats_require_minimum_version 1.5.0
load e2e_helpers
load net_guest

setup_file() {
	e2e_setup_file || return 0
	e2e_need podman conmon curl ip busybox cpio || return 0
	[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
		{ e2e_skip_file "no CNI plugins in /usr/lib/cni (containernetworking-plugins)"; return 0; }
	P=$E2E_T/podman
	PM_NET=urunc-e2e-$E2E_SFX
	PM_CG=urunc-e2e-$E2E_SFX                 # cgroup parent of every container
	PM_SUBNET=10.$((0x${E2E_SFX:0:2} % 64 + 192)).$((0x${E2E_SFX:2:2})).0
	mkdir -p "$P/root" "$P/runroot" "$P/tmp" "$P/net.d" "$P/ipam"
	e2e_doc_block podman-containers-conf >"$P/containers.doc.conf"
	sed "s|\"/usr/local/bin/urunc\"|\"$URUNC\"|" "$P/containers.doc.conf" >"$P/containers.conf"
	grep -qF "urunc = [\"$URUNC\"]" "$P/containers.conf"
	jq -n --arg n "$PM_NET" --arg br "upm${E2E_SFX:0:8}" --arg sn "$PM_SUBNET/24" --arg dd "$P/ipam" \
		'{cniVersion: "0.4.0", name: $n, plugins: [{type: "bridge", bridge: $br, isGateway: true,
		  ipMasq: false, ipam: {type: "host-local", subnet: $sn, routes: [{dst: "0.0.0.0/0"}],
		  dataDir: $dd}}]}' >"$P/net.d/$PM_NET.conflist"
	export P PM_NET PM_CG PM_SUBNET

	# The holder: new mount and network namespaces, /dev/kvm hidden, loopback up; in a
	# cgroup of its own, which every podman call (and the conmons it forks) joins too, so
	# the teardown kills all of them by cgroup.
	PM_DCG=$(tl_daemon_cgroup "urunc-e2e-podman-$E2E_SFX") || return 1
	echo "$PM_DCG" >"$E2E_T/podman.cgroup"
	e2e_start_daemon "$E2E_T/holder.pid" "$PM_DCG" unshare -m -n --propagation private sh -c \
		'if [ -e /dev/kvm ]; then mount --bind /dev/null /dev/kvm || exit 125; fi
		 ip link set lo up && exec sleep 3600' >"$P/holder.log" 2>&1
	PM_HOLDER=$(cut -d' ' -f1 "$E2E_T/holder.pid")
	e2e_wait 10 holder_ready || { cat "$P/holder.log"; return 1; }
	PM_MNTNS=$(e2e_mntns "$PM_HOLDER")
	export PM_HOLDER PM_MNTNS PM_DCG
	[ "$PM_MNTNS" != "$(e2e_mntns $$)" ]
}

teardown_file() {
	[ -n "${E2E_T:-}" ] || return 0
	if [ -n "${PM_HOLDER:-}" ] && holder_ready; then
		pm rm -f -a -t 0 >/dev/null 2>&1 || true
	fi
	# the holder, podman calls, conmons, urunc calls; then the containers' cgroups (VMMs)
	e2e_stop_daemon "$E2E_T/holder.pid" 5 "$(cat "$E2E_T/podman.cgroup" 2>/dev/null)"
	e2e_kill_cgroups "${PM_CG:-}"
	e2e_rm_tmp
}

setup() { e2e_setup; }

holder_ready() { [ "$(readlink "/proc/$PM_HOLDER/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]; }

# pm <args...>: podman in the holder's namespaces with the private configuration, bounded.
pm() {
	"${TL_IN_CGROUP[@]}" "$PM_DCG" nsenter -t "$PM_HOLDER" -m -n env CONTAINERS_CONF="$P/containers.conf" \
		timeout -k 5 "${PODMAN_TIMEOUT:-90}" podman --root "$P/root" --runroot "$P/runroot" \
		--tmpdir "$P/tmp" --cni-config-dir "$P/net.d" --storage-driver overlay "$@"
}

# pm_state <name>: the status `podman ps -a` shows for <name> ("Up 3 seconds ago",
# "Exited (143) 1 second ago"; "" when not listed).
pm_state() { pm ps -a --filter "name=^$1\$" --format '{{.Status}}'; }

pm_ready() { pm logs "$1" 2>&1 | sed 's/\r$//' | grep -q '^NETINIT: ready'; }

pm_exited() { [[ $(pm_state "$1") == Exited* ]]; }

@test "podman run/stop/rm with urunc: podman ps follows the lifecycle and the Linux guest answers HTTP on the container's address" {
	local name=ng-$E2E_SFX image=localhost/urunc-e2e-net:$E2E_SFX ip page left sandbox taps cid
	ng_rootfs "$E2E_T/ngroot" || skip "$NG_WHY"
	tar -C "$E2E_T/ngroot" --numeric-owner --owner=0 --group=0 -cf "$E2E_T/ngroot.tar" .
	pm import --change 'CMD=["/init"]' "$E2E_T/ngroot.tar" "$image" >/dev/null

	# podman asks for RLIMIT_NOFILE and RLIMIT_NPROC 1048576 (or less, depending on its own
	# limits); raising a hard limit needs CAP_SYS_RESOURCE, which a sandboxed test host may
	# lack (urunc then fails, as runc would): ask for our open-file limit and a process
	# limit below any podman sets for conmon.
	pm --runtime urunc run -d --name "$name" --network "$PM_NET" --cgroup-parent "/$PM_CG" \
		--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit nproc=16384:16384 "$image"
	e2e_wait 300 pm_ready "$name" || { pm logs "$name"; false; }
	[[ $(pm_state "$name") == Up* ]] || { pm ps -a; false; }
	[ "$(pm inspect -f '{{.State.Status}}' "$name")" = running ]
	ip=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$PM_NET\").IPAddress}}" "$name")
	[ "$ip" = "${PM_SUBNET%.0}.2" ]
	pm logs "$name" | sed 's/\r$//' | grep -qF "NETINIT: ready ip=$ip mask=255.255.255.0 gw=${PM_SUBNET%.0}.1 "
	page=$(ng_fetch -t "$PM_HOLDER" -n -- "$ip")
	[[ $page == "urunc guest ip=$ip mac="* ]] || { echo "page: $page"; false; }
	# podman's CNI namespace (joined by path) holds the guest's tap.
	sandbox=$(pm inspect -f '{{.NetworkSettings.SandboxKey}}' "$name")
	cid=$(pm inspect -f '{{.Id}}' "$name")
	[ -n "$(find /sys/fs/cgroup -mindepth 2 -type d -path "*/$PM_CG/*$cid*" 2>/dev/null)" ]
	[ -n "$sandbox" ]
	taps=$(nsenter -t "$PM_HOLDER" -m nsenter --net="$sandbox" ip -o link show type tun)
	[[ $taps =~ ^[0-9]+:\ tap[0-9]{6}_urunc: ]] || { echo "taps: $taps"; false; }
	[ "$(wc -l <<<"$taps")" = 1 ]

	# stop: SIGTERM through `urunc kill`, the VMM exits, podman shows it exited.
	pm stop -t 10 "$name" >/dev/null
	e2e_wait 30 pm_exited "$name" || { pm ps -a; false; }
	[ "$(pm inspect -f '{{.State.Status}}' "$name")" = exited ]
	[ -z "$(pgrep -f "qemu-system.*$ip" || true)" ]

	# rm: urunc delete; podman forgets it.
	pm rm "$name" >/dev/null
	left=$(pm ps -a --format '{{.Names}}') || { echo "podman ps failed: $left"; false; }
	! grep -qxF "$name" <<<"$left" || { echo "still listed: $left"; false; }
	# (its network namespace, and the tap in it, are gone)
	run nsenter -t "$PM_HOLDER" -m test -e "$sandbox"
	[ "$status" -ne 0 ]
	# (the container's cgroup; podman keeps <parent>/conmon for its conmons, the teardown's)
	left=$(find /sys/fs/cgroup -mindepth 2 -type d -path "*/$PM_CG/*$cid*" 2>/dev/null)
	[ -z "$left" ] || { echo "cgroups left: $left"; false; }
	pm rmi "$image" >/dev/null
}
