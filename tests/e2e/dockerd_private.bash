# shellcheck shell=bash
# A private dockerd 20.10 (Debian's docker.io: /usr/sbin/dockerd and the /usr/bin/docker
# client; /usr/local/bin/docker may be a newer client) for e2e tests: data and exec roots,
# pid file and socket under $E2E_T, no iptables, no default bridge, in a network namespace
# of its own (loopback up, as on a host: docker-proxy serves published ports on the host's
# addresses) and the namespace that hides /dev/kvm, started in a cgroup of its own so that
# teardown finds its containerd, shims and urunc calls there (never by namespace).
#
# Use from a bats file (after e2e_helpers):
#   setup_file() {
#     e2e_setup_file || return 0
#     dockerd_need || return 0
#     dockerd_init                         # D, DSOCK, CGPARENT, DOCKER_CONFIG; host paths
#     ... write "$D/daemon.json" ...
#     URUNC_CONFIG=... dockerd_start || return 1   # DOCKERD_PID, DOCKERD_MNTNS, DOCKERD_CGROUP
#   }
#   teardown_file() { [ -n "${E2E_T:-}" ] || return 0; dockerd_stop; e2e_rm_tmp; }
#   dk <docker args...>                    the client against it, under a timeout
#   docker_ready                           the daemon answers
#   dockerd_track_id <id>                  a container id, so teardown removes the socket
#                                          of its shim if the shim was killed
#
# Variables: D (its directory), DSOCK, CGPARENT (cgroup parent of every container:
# /<CGPARENT>/<id>), DOCKER_CONFIG (the client's own config dir, not ~/.docker), DOCKERD_PID,
# DOCKERD_MNTNS (for checks of what its namespace holds), DOCKERD_CGROUP.

# dockerd_need: the binaries are installed, else every test of the file skips (E2E_SKIP).
dockerd_need() {
	local t
	for t in /usr/sbin/dockerd /usr/bin/docker; do
		[ -x "$t" ] || { e2e_skip_file "\`$t\` is not installed (Debian docker.io)"; return 1; }
	done
}

dockerd_init() {
	D=$E2E_T/docker
	DSOCK=$D/docker.sock
	CGPARENT=urunc-e2e-$E2E_SFX
	DOCKER_CONFIG=$E2E_T/client
	export D DSOCK CGPARENT DOCKER_CONFIG
	: >"$E2E_T/ids"
	# Host-wide paths dockerd 20.10 and the shim create whatever the flags say.
	e2e_note_absent /etc/docker
	e2e_note_absent /etc/docker/key.json
	e2e_note_absent /run/containerd
	e2e_note_absent /run/containerd/s
	mkdir -p "$D/data" "$D/exec" "$DOCKER_CONFIG"
}

# dockerd_start: start it with $D/daemon.json and wait until it answers (60 s); the caller's
# environment (e.g. URUNC_CONFIG) reaches urunc through dockerd, its containerd and the shim.
dockerd_start() {
	DOCKERD_CGROUP=$(tl_daemon_cgroup "urunc-e2e-dockerd-$E2E_SFX") || return 1
	echo "$DOCKERD_CGROUP" >"$E2E_T/dockerd.cgroup"
	e2e_start_daemon "$E2E_T/dockerd.pid" "$DOCKERD_CGROUP" \
		unshare -n sh -c 'ip link set lo up && exec "$@"' dockerd-netns \
		"${E2E_MNTNS[@]}" /usr/sbin/dockerd \
		--config-file "$D/daemon.json" --iptables=false --ip6tables=false --bridge=none \
		--data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" \
		-H "unix://$DSOCK" --cgroup-parent "/$CGPARENT" \
		>"$E2E_T/dockerd.log" 2>&1
	read -r DOCKERD_PID _ <"$E2E_T/dockerd.pid"
	if ! e2e_wait_daemon "$DOCKERD_PID" 60 docker_ready; then
		tail -n 20 "$E2E_T/dockerd.log"
		return 1
	fi
	DOCKERD_MNTNS=$(e2e_mntns "$DOCKERD_PID")
	e2e_pin_mntns "$DOCKERD_PID"
	export DOCKERD_PID DOCKERD_MNTNS DOCKERD_CGROUP
}

# dockerd_stop: teardown, safe after a failed start: remove the containers (unpausing
# first), stop dockerd, kill what is left in its cgroup (containerd, shims, urunc calls)
# and in the containers' cgroups (VMMs), remove the sockets of shims that were killed.
dockerd_stop() {
	local id
	if [ -n "${DSOCK:-}" ] && docker_ready; then
		for id in $(dk ps -aq --no-trunc); do
			dk unpause "$id" >/dev/null 2>&1 || true
			dk rm -f "$id" >/dev/null 2>&1 || true
		done
	fi
	e2e_stop_daemon "$E2E_T/dockerd.pid" 20 "$(cat "$E2E_T/dockerd.cgroup" 2>/dev/null)"
	e2e_kill_cgroups "${CGPARENT:-}"
	# sockets of shims that were killed: /run/containerd/s/sha256(<address>/moby/<id>)
	while read -r id; do
		[ -n "$id" ] &&
			rm -f "/run/containerd/s/$(printf '%s' "$D/exec/containerd/containerd.sock/moby/$id" | sha256sum | cut -d' ' -f1)"
	done <"$E2E_T/ids" 2>/dev/null || true
}

dockerd_track_id() { echo "$1" >>"$E2E_T/ids"; }

docker_ready() { [ -S "$DSOCK" ] && /usr/bin/docker -H "unix://$DSOCK" version >/dev/null 2>&1; }

dk() { timeout -k 5 "${DOCKER_TIMEOUT:-60}" /usr/bin/docker -H "unix://$DSOCK" "$@"; }
