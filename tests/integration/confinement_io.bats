#!/usr/bin/env bats
# Confinement of what urunc reads, trusts and hands over (issue "confinement as the spec
# says", items 3, 5-10): untrusted files that would block or balloon, a state root another
# user could plant, a host network namespace joined by path, read-only rootfs and volumes,
# a swapped rootfs, copies that do not fit. Each test is the attack; the fake VMM stands in
# for QEMU and reports the argv it got.

load helpers

setup() { it_setup; }
teardown() {
	# Undo what a test did to the state root or a state dir before the common teardown,
	# which needs to trust them to delete the containers.
	if [ -n "${T:-}" ] && [ -d "${ROOT:-/nonexistent}" ]; then
		chown -R 0:0 "$ROOT" 2>/dev/null || true
		chmod 0700 "$ROOT" 2>/dev/null || true
		find "$ROOT" -mindepth 1 -maxdepth 1 -type d -exec chmod 0711 {} + 2>/dev/null || true
	fi
	if [ -n "${IO_TMPFS:-}" ]; then
		umount "$IO_TMPFS" 2>/dev/null || true
	fi
	it_teardown
}

# plain_bundle <dir>: a unikraft/qemu bundle without urunc annotations (urunc.json decides).
plain_bundle() {
	mk_bundle "$1" unikernelType hypervisor binary unikernelVersion
}

# expect_create_fails <id> <bundle> <text>: create exits 1 (not a crash, not a timeout) within
# 10 s, leaves no state dir, and its message holds <text>.
expect_create_fails() {
	run timeout -k 2 10 "$URUNC" --root "$ROOT" create --bundle "$2" "$1" </dev/null
	echo "$output"
	[ "$status" -eq 1 ]
	has "$output" "$3"
	no_state "$1"
}

# --- 7. untrusted reads never block or balloon ------------------------------------------

@test "a FIFO as urunc.json: create fails at once, naming it, instead of blocking" {
	local id
	id=$(new_id fifojson)
	plain_bundle "$T/b"
	mkfifo "$T/b/rootfs/urunc.json"
	expect_create_fails "$id" "$T/b" "urunc.json\` is not a regular file (it is a FIFO)"
}

@test "a 1 GiB sparse urunc.json is refused unread (16 KiB cap)" {
	local id
	id=$(new_id bigjson)
	plain_bundle "$T/b"
	truncate -s 1G "$T/b/rootfs/urunc.json"
	expect_create_fails "$id" "$T/b" "urunc.json\` is 1073741824 bytes, more than the 16384 allowed"
}

@test "200 KB of [ in config.json is a JSON error, not a crash; 16000 [ in urunc.json too" {
	local id
	id=$(new_id deep)
	mk_bundle "$T/b"
	head -c 200000 /dev/zero | tr '\0' '[' >"$T/b/config.json"
	expect_create_fails "$id" "$T/b" "config.json: invalid JSON"
	plain_bundle "$T/c"
	head -c 16000 /dev/zero | tr '\0' '[' >"$T/c/rootfs/urunc.json"
	expect_create_fails "$id" "$T/c" "urunc.json: "
}

@test "a FIFO as config.json or as a 5 MiB config.json: refused" {
	local id
	id=$(new_id fifocfg)
	mkdir -p "$T/b"
	mkfifo "$T/b/config.json"
	expect_create_fails "$id" "$T/b" "config.json\` is not a regular file (it is a FIFO)"
	rm "$T/b/config.json"
	truncate -s 5M "$T/b/config.json"
	expect_create_fails "$id" "$T/b" "more than the 4194304 allowed"
}

@test "a FIFO as the /etc/resolv.conf mount source: create fails at once, naming it" {
	local id
	id=$(new_id fiforesolv)
	mk_bundle "$T/b"
	mkfifo "$T/resolv.fifo"
	cfg "$T/b" --arg s "$T/resolv.fifo" \
		'.mounts += [{destination: "/etc/resolv.conf", type: "bind", source: $s, options: ["rbind", "ro"]}]'
	expect_create_fails "$id" "$T/b" "mount \`/etc/resolv.conf\`: \`$T/resolv.fifo\` is not a regular file (it is a FIFO)"
}

# --- 8. the state root is trusted only when nobody else can write it -------------------

@test "a state root writable by others (mode 0777) is refused, naming path and mode" {
	local id
	id=$(new_id root777)
	mkdir -p "$ROOT"
	chmod 0777 "$ROOT"
	mk_bundle "$T/b"
	expect_create_fails "$id" "$T/b" "state directory \`$ROOT\` is owned by uid 0 with mode 0777"
	run ur list
	[ "$status" -eq 1 ]
	has "$output" "mode 0777"
}

@test "a state dir handed to another user (nobody) is refused by state, kill and delete --force" {
	local id pid
	id=$(new_id planted)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	chown nobody "$ROOT/$id"
	for verb in "state $id" "kill $id KILL" "delete --force $id"; do
		# shellcheck disable=SC2086
		run ur $verb
		[ "$status" -eq 1 ]
		has "$output" "state directory \`$ROOT/$id\` is owned by uid $(id -u nobody)"
	done
	# nothing was acted on: the parked init lives, the state dir is still there
	alive "$pid"
	[ -d "$ROOT/$id" ]
	chown 0 "$ROOT/$id"
	chmod 0777 "$ROOT/$id"
	run ur delete --force "$id"
	[ "$status" -eq 1 ]
	has "$output" "with mode 0777"
	chmod 0711 "$ROOT/$id"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
}

@test "a copyDir in state.json pointing outside the state dir is never removed by delete" {
	local id pid
	id=$(new_id victim)
	mkdir -p "$T/victim/sub"
	echo precious >"$T/victim/sub/file"
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	jq -c --arg v "$T/victim" '.copyDir = $v' "$ROOT/$id/state.json" >"$T/state.new"
	cat "$T/state.new" >"$ROOT/$id/state.json"
	ur delete --force "$id"
	nothing_left "$id" "$pid"
	eq "$(cat "$T/victim/sub/file")" precious
}
