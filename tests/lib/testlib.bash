# shellcheck shell=bash
# The shell library shared by tests/integration, tests/e2e, bench/ and scripts/demo.sh:
# bundles, the host (monitor) config, KVM hiding, processes identified by pid + start time,
# daemons confined to a cgroup of their own, teardown of mounts, temp trees and the few
# host-wide paths the daemons create.
#
# Source it from bash (`. tests/lib/testlib.bash`) or `load ../lib/testlib` from bats. It
# defines functions and constants only: no output, no side effect, safe to source twice.
#
# Identity of processes: a pid alone can be reused by an unrelated process once ours has
# been reaped, and so can a namespace inode once its last user is gone. So every daemon a
# test starts is recorded as "pid starttime" (field 22 of /proc/<pid>/stat, clock ticks since
# boot) and is only signalled while both still match; and everything it forks (shims, urunc
# calls) lives in a cgroup made for this run, which teardown empties and removes. Nothing
# is ever killed by a mount-namespace inode.

TL_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TL_LIB # for scripts a test writes and runs (they source it again)
TL_REPO=$(cd "$TL_LIB/../.." && pwd)

# --- KVM -----------------------------------------------------------------------------------
# urunc probes /dev/kvm itself (a VM, a vCPU, MSR 0x10a) and falls back to TCG when KVM
# cannot run a guest (PVM on nested cloud hosts answers the API, then QEMU aborts), so
# tests and the demo run it with /dev/kvm as the host has it. Only the tests of "no usable
# KVM" on a host where KVM works hide it: a private mount namespace where /dev/kvm is a
# bind of /dev/null. Mounts made in that namespace die with its last process.
#
# TL_HIDE_KVM is the same as a command prefix, for `timeout`, `env`, `unshare -n` and the
# like: `timeout 60 "${TL_HIDE_KVM[@]}" urunc ...`. The bind failing exits 125.
# shellcheck disable=SC2016  # the sh -c script is single-quoted on purpose
TL_HIDE_KVM=(unshare -m --propagation private sh -c
	'if [ -e /dev/kvm ]; then mount --bind /dev/null /dev/kvm || exit 125; fi; exec "$@"'
	hide-kvm)

# hide_kvm <command...>: run command where /dev/kvm is hidden (see above).
hide_kvm() { "${TL_HIDE_KVM[@]}" "$@"; }

# --- bundles and the host config ------------------------------------------------------------

# tl_jq_edit <json file> [jq args...] <filter>: edit the file in place (a failing filter
# leaves it untouched and returns jq's status).
tl_jq_edit() {
	local f=$1
	shift
	if jq "$@" "$f" >"$f.tl-new"; then
		mv "$f.tl-new" "$f"
	else
		rm -f "$f.tl-new"
		return 1
	fi
}

# tl_make_bundle <dir> [make-bundle.sh overrides...]: a unikraft/qemu bundle of the test
# kernel (tests/fixtures/make-bundle.sh; MAKE_BUNDLE and TESTKERNEL from paths.env).
tl_make_bundle() {
	local dir=$1
	shift
	"${MAKE_BUNDLE:-$TL_REPO/tests/fixtures/make-bundle.sh}" "$dir" "$TESTKERNEL" "$@" >/dev/null
}

# tl_monitor_config <file> [<monitor> <path>]...: a host config (URUNC_CONFIG) naming each
# monitor's binary; with no pair, qemu is the fake VMM ($FAKEVMM). Overwrites the file.
tl_monitor_config() {
	local f=$1
	shift
	[ $# -gt 0 ] || set -- qemu "$FAKEVMM"
	: >"$f"
	while [ $# -ge 2 ]; do
		printf '[monitors.%s]\npath = "%s"\n' "$1" "$2" >>"$f"
		shift 2
	done
}

# --- waiting -------------------------------------------------------------------------------

# tl_wait <seconds> <command...>: run command every 0.1 s until it succeeds; 1 when the
# deadline passes first.
tl_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# --- processes: pid + start time -------------------------------------------------------------

# tl_starttime <pid>: field 22 of /proc/<pid>/stat (after the parenthesised command name,
# which may hold spaces); empty when the process is gone.
tl_starttime() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	# fields 3.. from here on: starttime (22) is the 20th
	read -r -a f <<<"$s"
	echo "${f[19]:-}"
}

# tl_record_pid <pid> <file>: write "pid starttime" to file, for tl_stop_recorded.
tl_record_pid() { echo "$1 $(tl_starttime "$1")" >"$2"; }

# tl_same_process <pid> <starttime>: that process still runs (a zombie counts: it still
# holds the pid) and is the one recorded.
tl_same_process() {
	[[ $1 =~ ^[0-9]+$ ]] && [ -n "$2" ] && [ "$(tl_starttime "$1")" = "$2" ]
}

# tl_recorded_alive <file>: the process recorded in file still runs.
tl_recorded_alive() {
	local pid st
	read -r pid st <"$1" 2>/dev/null || return 1
	tl_same_process "$pid" "$st"
}

# tl_stop_recorded <file> <seconds>: SIGTERM the process recorded in file, wait (bounded),
# then SIGKILL; each signal only while its pid and start time still match. Returns 0 once
# it is gone (or was never there).
tl_stop_recorded() {
	local pid st
	read -r pid st <"$1" 2>/dev/null || return 0
	tl_same_process "$pid" "$st" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	tl_wait "$2" tl_not_running "$pid" "$st" && return 0
	tl_same_process "$pid" "$st" && kill -KILL "$pid" 2>/dev/null
	tl_wait 5 tl_not_running "$pid" "$st"
}

# tl_not_running <pid> <starttime>: gone, or only a zombie waiting for its parent.
tl_not_running() {
	tl_same_process "$1" "$2" || return 0
	grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# --- cgroups -------------------------------------------------------------------------------

# tl_cgroup_find [find arguments...]: `find /sys/fs/cgroup ...`, where a directory that
# vanishes during the walk is no error (other tests' cgroups come and go all the time, and a
# test that checks a listing must still see find's failures); any other error is.
tl_cgroup_find() {
	local errf rc=0
	errf=$(mktemp /tmp/tl-cgroup-find.XXXXXX)
	find /sys/fs/cgroup "$@" 2>"$errf" || rc=$?
	if [ "$rc" -ne 0 ] && ! grep -qv 'No such file or directory$' "$errf"; then
		rc=0
	fi
	[ "$rc" -eq 0 ] || cat "$errf" >&2
	rm -f "$errf"
	return "$rc"
}

# --- daemons in a cgroup of their own --------------------------------------------------------

# tl_cgroup2_root: where the unified (v2) hierarchy is mounted (/sys/fs/cgroup, or
# /sys/fs/cgroup/unified on a hybrid host); empty when there is none.
tl_cgroup2_root() { findmnt -rn -t cgroup2 -o TARGET 2>/dev/null | head -n1; }

# tl_daemon_cgroup <name>: create (if needed) and print a cgroup directory named <name>
# (unique per run: put a random suffix in it) at the top of the unified hierarchy, or of the
# pids v1 hierarchy when there is no unified one. Processes placed in it and everything
# they fork stay there unless something moves them (urunc moves each container's init into
# the container's own cgroup, which the tests remove by its name).
tl_daemon_cgroup() {
	local root
	root=$(tl_cgroup2_root)
	[ -n "$root" ] || root=$(findmnt -rn -t cgroup -o TARGET,OPTIONS 2>/dev/null | awk '$2 ~ /(^|,)pids(,|$)/ { print $1; exit }')
	[ -n "$root" ] || { echo "tl_daemon_cgroup: no cgroup2 or pids hierarchy mounted" >&2; return 1; }
	mkdir -p "$root/$1" && echo "$root/$1"
}

# TL_IN_CGROUP <dir> <command...> (a command prefix): move itself into the cgroup, then exec
# the command; 125 if the move fails.
# shellcheck disable=SC2016
TL_IN_CGROUP=(sh -c 'echo $$ >"$0/cgroup.procs" || exit 125; exec "$@"')

# tl_cgroup_pids <dir>: every process in the cgroup and below it.
tl_cgroup_pids() {
	local d
	[ -d "$1" ] || return 0
	while read -r d; do
		cat "$d/cgroup.procs" 2>/dev/null || true
	done < <(find "$1" -type d 2>/dev/null)
}

tl_cgroup_empty() { [ -z "$(tl_cgroup_pids "$1")" ]; }

# tl_kill_cgroup <dir>: SIGKILL every process in the cgroup and below (cgroup.kill where
# the kernel has it; else each pid listed, again until none is left, bounded), then remove
# the directories, deepest first. A pid read from cgroup.procs is one that is in our
# cgroup at that moment, whatever its history.
tl_kill_cgroup() {
	local dir=$1 pid n
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	if [ -e "$dir/cgroup.kill" ]; then
		echo 1 >"$dir/cgroup.kill" 2>/dev/null || true
	fi
	for n in 1 2 3 4 5; do
		tl_cgroup_empty "$dir" && break
		for pid in $(tl_cgroup_pids "$dir"); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		tl_wait 2 tl_cgroup_empty "$dir" && break
	done
	while read -r n; do
		tl_wait 5 tl_rmdir "$n" || true
	done < <(find "$dir" -depth -type d 2>/dev/null)
}

# tl_rmdir <dir>: remove an (empty) directory; true when it is gone.
tl_rmdir() { rmdir "$1" 2>/dev/null || [ ! -d "$1" ]; }

# tl_rm_cgroups_named <name>: remove every cgroup directory called <name>, at any depth of
# every hierarchy, after killing what is left in it (processes that outlived their
# container's delete, e.g. VMMs whose shim was killed).
tl_rm_cgroups_named() {
	local top
	[ -n "$1" ] || return 0
	for top in $(tl_cgroup_find -mindepth 1 -type d -name "$1" 2>/dev/null); do
		tl_kill_cgroup "$top"
	done
}

# --- teardown of files and mounts -------------------------------------------------------------

# tl_umount_under <dir>: unmount (lazily) every mount below dir in our mount namespace,
# deepest first.
tl_umount_under() {
	local m
	[ -n "$1" ] || return 0
	findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

# tl_rm_tree <dir>: tl_umount_under, then remove dir without crossing into another file
# system.
tl_rm_tree() {
	[ -n "$1" ] && [ -d "$1" ] || return 0
	tl_umount_under "$1"
	rm -rf --one-file-system "$1"
}

# --- host-wide paths daemons create ----------------------------------------------------------
# dockerd and containerd create a few host-wide paths whatever their flags say
# (/run/containerd/s for shim sockets, /etc/docker/key.json). A test run that saw one absent
# removes it at the end; test files run in parallel lanes must not remove it under another
# run that still uses it. So each user registers, under a lock, in
# /run/urunc-test-hostpaths/<hash>/ ("pid starttime" of the registering shell): the last
# user to leave removes the path (a directory only if it is empty) and the registry entry.
TL_HOSTPATHS=/run/urunc-test-hostpaths

# tl_hostpath_use <path> <owner dir>: register as a user of path if it is absent now or was
# created by another run that still uses it; remembered in <owner dir>/hostpaths.
tl_hostpath_use() {
	local path=$1 owner=$2 key
	key=$(printf '%s' "$path" | sha256sum | cut -c1-16)
	(
		flock 9
		if [ ! -e "$path" ] || [ -d "$TL_HOSTPATHS/$key" ]; then
			mkdir -p "$TL_HOSTPATHS/$key"
			printf '%s\n' "$path" >"$TL_HOSTPATHS/$key/path"
			tl_record_pid $$ "$TL_HOSTPATHS/$key/user.${owner//\//_}"
			printf '%s\n' "$path" >>"$owner/hostpaths"
		fi
	) 9>>/run/lock/urunc-test-hostpaths.lock
}

# tl_hostpath_release <owner dir>: leave every path registered by that owner; remove each
# one nobody else (alive, same pid + start time) still uses, deepest first.
tl_hostpath_release() {
	local owner=$1 path key u others
	[ -f "$owner/hostpaths" ] || return 0
	(
		flock 9
		sort -ru "$owner/hostpaths" | while read -r path; do
			[ -n "$path" ] || continue
			key=$(printf '%s' "$path" | sha256sum | cut -c1-16)
			rm -f "$TL_HOSTPATHS/$key/user.${owner//\//_}"
			others=
			for u in "$TL_HOSTPATHS/$key"/user.*; do
				[ -f "$u" ] || continue
				if tl_recorded_alive "$u"; then others=1; else rm -f "$u"; fi
			done
			[ -z "$others" ] || continue
			if [ -d "$path" ] && [ ! -L "$path" ]; then
				rmdir "$path" 2>/dev/null || true
			else
				rm -f "$path"
			fi
			rm -rf "${TL_HOSTPATHS:?}/$key"
		done
		rmdir "$TL_HOSTPATHS" 2>/dev/null || true
	) 9>>/run/lock/urunc-test-hostpaths.lock
	rm -f "$owner/hostpaths"
}

# --- cgroup hierarchies ------------------------------------------------------------------

# cg_root <controller>: where the hierarchy holding <controller> is mounted: the v1 hierarchy
# that has it, else cgroup2 (a cgroup2-only host). Never a hard-coded v1 path.
cg_root() {
	local r
	r=$(findmnt -rn -t cgroup -o TARGET,OPTIONS |
		awk -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }')
	[ -n "$r" ] || r=$(findmnt -rn -t cgroup2 -o TARGET | head -n1)
	[ -n "$r" ] || return 1
	echo "$r"
}

# --- Debian kernel packages (the e2e guests' kernels and modules) -------------------------

# tl_fetch_deb <package> <dir>: download <package> with apt (no install) and extract it into
# <dir>/x. As root, apt drops to the _apt user to download, which cannot write to a root-owned
# cache: stay root. One line on stderr and status 1 when it cannot be had.
tl_fetch_deb() {
	(cd "$2" && apt-get download -q -o APT::Sandbox::User=root "$1" >&2) || {
		echo "${0##*/}: apt-get download $1 failed" >&2
		return 1
	}
	dpkg -x "$2/$1"_*.deb "$2/x"
}

# tl_module_order <dir> <module...>: write <dir>/order, the modules (each <dir>/<name>.ko)
# in an order insmod can load them, dependencies first, from the modules' own `depends`
# (modinfo); a dependency missing from the list fails with one line on stderr.
tl_module_order() {
	local dir=$1 m dep ready next left
	shift
	: >"$dir/order.new"
	left=("$@")
	while [ ${#left[@]} -gt 0 ]; do
		next=()
		for m in "${left[@]}"; do
			ready=1
			for dep in $(modinfo -F depends "$dir/$m.ko" | tr ',' ' '); do
				grep -qxF "$dep" "$dir/order.new" || ready=0
			done
			if [ $ready = 1 ]; then echo "$m" >>"$dir/order.new"; else next+=("$m"); fi
		done
		[ ${#next[@]} -lt ${#left[@]} ] || {
			echo "${0##*/}: unmet module dependencies: ${next[*]}" >&2
			return 1
		}
		left=("${next[@]}")
	done
	mv "$dir/order.new" "$dir/order"
}

# tl_initrd_tree <dir> [<modules dir>]: the common part of the e2e guests' initrds in <dir>:
# a static busybox (${BUSYBOX:-/bin/busybox}; the guest has no libraries) with its applets in
# /bin, empty /proc /sys /dev /tmp /etc, and with a modules dir (`order` + <name>.ko, from
# matrix_linux_modules.sh or matrix_linux_generic.sh) the modules in /modules. One line on
# stderr and status 1 when the busybox or the module list is missing.
tl_initrd_tree() {
	local d=$1 mods=${2:-} bb=${BUSYBOX:-/bin/busybox} a m
	[ -x "$bb" ] || {
		echo "${0##*/}: no busybox at $bb (install busybox-static)" >&2
		return 1
	}
	if LC_ALL=C ldd "$bb" 2>&1 | grep -q '=>'; then
		echo "${0##*/}: $bb is dynamically linked (install busybox-static)" >&2
		return 1
	fi
	mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/tmp" "$d/etc"
	cp "$bb" "$d/bin/busybox"
	for a in $("$bb" --list); do
		[ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"
	done
	[ -n "$mods" ] || return 0
	[ -s "$mods/order" ] || {
		echo "${0##*/}: no module list at $mods/order" >&2
		return 1
	}
	mkdir -p "$d/modules"
	while read -r m; do
		cp "$mods/$m.ko" "$d/modules/"
	done <"$mods/order"
	cp "$mods/order" "$d/modules/order"
}

# tl_net_guest_bundle <bundle> <netns|-> <kernel> <modules dir>: the Linux guest that serves
# its page over HTTP (tests/e2e/net_initrd.sh) as a bundle: <kernel> and that initrd in the
# rootfs, QEMU as uid/gid 1000 (the tap must be opened by that user), the spec joining the
# named network namespace (`-`: no network namespace of its own, so no network). Shared by
# tests/e2e/guest_network.bats and the bench's time-to-first-HTTP section.
tl_net_guest_bundle() {
	local b=$1 ns=$2 kernel=$3 mods=$4
	tl_make_bundle "$b" unikernelType=linux hypervisor=qemu binary=/boot/vmlinuz \
		initrd=/boot/initrd unikernelVersion
	rm -r "$b/rootfs/unikernel"
	mkdir "$b/rootfs/boot"
	cp "$kernel" "$b/rootfs/boot/vmlinuz"
	"$TL_REPO/tests/e2e/net_initrd.sh" "$b/rootfs/boot/initrd" "$mods"
	# shellcheck disable=SC2016 # a jq filter
	tl_jq_edit "$b/config.json" --arg ns "/var/run/netns/$ns" '.process.args = ["/init"]
		| .process.env = []
		| .process.user = {uid: 1000, gid: 1000}
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"},
			{type: "network", path: $ns}]'
	[ "$ns" != - ] || tl_jq_edit "$b/config.json" '.linux.namespaces |= map(select(.type != "network"))'
}
