#!/usr/bin/env bats
# Every key of the host config (docs/configuration.md, section 4) pinned to an effect a user
# can see: the argv the VMM gets (recorded by the fake VMM), what urunc logs, the files it
# writes, the binary it hands a plain bundle to, the error it refuses with. A key that does
# nothing fails here. [view_shim] is read by urunc-view-shim only: tests/e2e/view_shim.bats
# pins it. The parsing rules (types, ranges, overlay, error lines) are unit-tested in
# tests/unit/oci/host_config_test.cpp.

load matrix_helpers

setup() {
	mx_setup
	unset URUNC_RUNC URUNC_TIMESTAMPS URUNC_TIMESTAMPS_FILE
}
teardown() { mx_teardown; }

# ck_bundle <id> [guest] [vmm]: mx_bundle (512 MiB limit) at $MX_T/<id>, linux on qemu.
ck_bundle() { mx_bundle "$MX_T/$1" "${2:-linux}" "${3:-qemu}"; }

# ck_set <section> <line>: add a key to a section of the config, making the section if needed.
ck_set() {
	if grep -qxF "[$1]" "$URUNC_CONFIG"; then
		sed -i "/^\[$1\]\$/a $2" "$URUNC_CONFIG"
	else
		printf '[%s]\n%s\n' "$1" "$2" >>"$URUNC_CONFIG"
	fi
}

# ck_expect_word <id> <word> <value>
ck_expect_word() {
	local got
	got=$(mx_word_after "$1" "$2") || return 1
	[ "$got" = "$3" ] && return 0
	echo "$1: after \`$2\`: [$got], expected [$3]" >&2
	return 1
}

# ck_has <file> <text>: the file contains the text (fixed string).
ck_has() {
	grep -qF -- "$2" "$1" && return 0
	printf 'expected `%s` in %s:\n%s\n' "$2" "$1" "$(cat "$1")" >&2
	return 1
}

# ck_lacks <file> <text>
ck_lacks() {
	grep -qF -- "$2" "$1" || return 0
	printf 'did not expect `%s` in %s:\n%s\n' "$2" "$1" "$(cat "$1")" >&2
	return 1
}

# ck_refused <id> <message>: create fails with exit 1 and exactly this one line on stderr,
# and leaves nothing behind.
ck_refused() {
	local id=$1 rc=0
	mx_create "$id" "$MX_T/$id" || rc=$?
	[ "$rc" -eq 1 ] || { echo "create $id: exit $rc, expected 1"; cat "$MX_T/$id.err"; return 1; }
	[ "$(cat "$MX_T/$id.err")" = "$2" ] || {
		printf 'stderr of create %s:\n%s\nexpected:\n%s\n' "$id" "$(cat "$MX_T/$id.err")" "$2"
		return 1
	}
	mx_nothing_left "$id"
}

# --- [monitors.<vmm>] ---------------------------------------------------------------------

@test "[monitors.<vmm>] path: the VMM started is the configured binary" {
	local id
	id=$(mx_id path)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	mx_argv "$id"
	[ "${MX_ARGV[0]}" = "$FAKEVMM" ]

	id=$(mx_id path2)
	ck_bundle "$id"
	sed -i "s|^path = \"$FAKEVMM\"\$|path = \"$MX_T/no-such-qemu\"|" "$URUNC_CONFIG"
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "$MX_T/no-such-qemu"
	mx_nothing_left "$id"
}

@test "[monitors.<vmm>] default_memory_mib, default_memory_mb: the guest RAM without a memory limit" {
	local id
	id=$(mx_id dmem)
	ck_bundle "$id"
	mx_jq "$MX_T/$id" 'del(.linux.resources.memory)'
	ck_set monitors.qemu 'default_memory_mib = 300'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -m 300M

	id=$(mx_id dmemmb)
	ck_bundle "$id"
	mx_jq "$MX_T/$id" 'del(.linux.resources.memory)'
	sed -i '/^default_memory_mib = 300$/d' "$URUNC_CONFIG"
	ck_set monitors.qemu 'default_memory_mb = 200'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -m 200M
}

@test "[monitors.<vmm>] default_vcpus: the vCPUs without a CPU quota" {
	local id
	id=$(mx_id vcpu)
	ck_bundle "$id"
	ck_set monitors.qemu 'default_vcpus = 3'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -smp 3
}

@test "[monitors.<vmm>] memory_overhead_mib: kept out of the memory limit" {
	local id
	id=$(mx_id ovh)
	ck_bundle "$id"
	ck_set monitors.qemu 'memory_overhead_mib = 100'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -m 412M
}

@test "[monitors.<vmm>] data_path: qemu's firmware root (-L)" {
	local id
	id=$(mx_id data)
	ck_bundle "$id"
	mkdir "$MX_T/qemu-data"
	ck_set monitors.qemu "data_path = \"$MX_T/qemu-data\""
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -L "$MX_T/qemu-data"
}

@test "[monitors.<vmm>] vhost: /dev/vhost-net in the VMM's /dev, or a warning when the host has none" {
	local id
	id=$(mx_id vhost)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	[[ ,$(mx_field "$id" dev), != *,vhost-net,* ]]
	ck_lacks "$MX_T/$id.err" "vhost requested"

	id=$(mx_id vhost2)
	ck_bundle "$id"
	ck_set monitors.qemu 'vhost = true'
	mx_run_vmm "$id" "$MX_T/$id"
	if [ -c /dev/vhost-net ]; then
		[[ ,$(mx_field "$id" dev), == *,vhost-net,* ]]
	else
		ck_has "$MX_T/$id.err" "vhost requested for qemu but /dev/vhost-net does not exist: not using vhost"
	fi
}

# --- [log] ----------------------------------------------------------------------------------

@test "[log] level: what urunc logs; info by default" {
	local id
	id=$(mx_id loginfo)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	ck_has "$MX_T/$id.err" 'level=info msg="guest resources: '
	"$URUNC" --root "$MX_ROOT" --log "$MX_T/kill.log" kill "$id" USR1
	[ ! -s "$MX_T/kill.log" ]  # the signal sent is a debug record

	ck_set log 'level = "debug"'
	"$URUNC" --root "$MX_ROOT" --log "$MX_T/kill.log" kill "$id" USR1
	ck_has "$MX_T/kill.log" "level=debug msg=\"container $id: sent signal 10 to pid "

	sed -i 's/^level = "debug"$/level = "error"/' "$URUNC_CONFIG"
	id=$(mx_id logerr)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	ck_lacks "$MX_T/$id.err" 'level=info'
	: >"$MX_T/kill.log"
	"$URUNC" --root "$MX_ROOT" --log "$MX_T/kill.log" kill "$id" USR1
	[ ! -s "$MX_T/kill.log" ]
}

@test "[log] level: --debug on the command line wins over the file" {
	local id
	ck_set log 'level = "error"'
	id=$(mx_id logdbg)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	"$URUNC" --root "$MX_ROOT" --debug --log "$MX_T/kill.log" kill "$id" USR1
	ck_has "$MX_T/kill.log" "level=debug msg=\"container $id: sent signal 10 to pid "
}

@test "[log] syslog = true is refused naming file, line and key; false is accepted" {
	local id
	id=$(mx_id syslog)
	ck_bundle "$id"
	printf '[log]\nlevel = "info"\nsyslog = true\n' >>"$URUNC_CONFIG"
	local line
	line=$(grep -n '^syslog = true$' "$URUNC_CONFIG" | cut -d: -f1)
	ck_refused "$id" "config \`$URUNC_CONFIG\`: line $line: \`log.syslog\`: not supported: urunc logs to --log or stderr (set it to false or remove it)"

	sed -i 's/^syslog = true$/syslog = false/' "$URUNC_CONFIG"
	mx_run_vmm "$id" "$MX_T/$id"
}

# ck_argv_has <id> <word>: the fake VMM's argv holds exactly this word.
ck_argv_has() {
	mx_argv "$1"
	printf '%s\n' "${MX_ARGV[@]}" | grep -qxF -- "$2" && return 0
	printf '%s: no argv word [%s] in:\n' "$1" "$2"
	printf '  %s\n' "${MX_ARGV[@]}"
	return 1
}

@test "[extra_binaries.virtiofsd] path: a shared rootfs goes over virtiofs, served by that binary" {
	local id pid line vfsd=/usr/lib/qemu/virtiofsd
	[ -x "$vfsd" ] || skip "no virtiofsd at $vfsd"
	# Without the section: 9p, as always.
	id=$(mx_id vfs-off)
	mx_bundle "$MX_T/$id" linux qemu mountRootfs=true
	mx_run_vmm "$id" "$MX_T/$id"
	ck_argv_has "$id" "virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0"
	[[ $(jq -r .rootfsChoice "$MX_ROOT/$id/state.json") == "9pfs: "* ]]

	id=$(mx_id vfs-on)
	mx_bundle "$MX_T/$id" linux qemu mountRootfs=true
	printf '[extra_binaries.virtiofsd]\npath = "%s"\n' "$vfsd" >>"$URUNC_CONFIG"
	mx_run_vmm "$id" "$MX_T/$id"
	ck_argv_has "$id" "vhost-user-fs-pci,chardev=vfs,tag=fs0"
	ck_argv_has "$id" "socket,id=vfs,path=/run/urunc-virtiofs.sock"
	ck_argv_has "$id" "memory-backend-memfd,id=mem,size=$(mx_word_after "$id" -m),share=on"
	[[ $(mx_word_after "$id" -append) == *" root=fs0 ro rootfstype=virtiofs "* ]]
	[[ $(jq -r .rootfsChoice "$MX_ROOT/$id/state.json") == "virtiofs: "*" by virtiofsd \`$vfsd\`" ]]
	# The init started it before it became the VMM.
	pid=$(cat "$MX_T/$id.pid")
	pgrep -P "$pid" -x virtiofsd

	# Named per file, line and key when it cannot be the binary.
	id=$(mx_id vfs-rel)
	ck_bundle "$id"
	sed -i 's|^path = "'"$vfsd"'"$|path = "virtiofsd"|' "$URUNC_CONFIG"
	line=$(grep -n '^path = "virtiofsd"$' "$URUNC_CONFIG" | cut -d: -f1)
	ck_refused "$id" "config \`$URUNC_CONFIG\`: line $line: \`extra_binaries.virtiofsd.path\`: \`virtiofsd\` must be an absolute path"
}

# --- [timestamps] ---------------------------------------------------------------------------

@test "[timestamps] enabled, destination: the container's steps as JSON lines in that file" {
	local id
	id=$(mx_id ts)
	ck_bundle "$id"
	ck_set timestamps "destination = \"$MX_T/ts.log\""
	mx_run_vmm "$id" "$MX_T/$id"
	[ ! -e "$MX_T/ts.log" ]  # off by default

	id=$(mx_id ts2)
	ck_bundle "$id"
	ck_set timestamps 'enabled = true'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_has "$MX_T/ts.log" "{\"containerID\":\"$id\",\"timestampID\":\"TS00\""
	ck_has "$MX_T/ts.log" "\"timestampID\":\"TS18\""
}

# --- [snapshot_view] ------------------------------------------------------------------------

# ck_view_bundle <id> <view>: a bundle that names only a snapshot view (the rest would come
# from the view's urunc.json), so the view is checked against the allowed prefixes.
ck_view_bundle() {
	tl_make_bundle "$MX_T/$1" unikernelType hypervisor binary unikernelVersion "snapshotView=$2"
}

@test "[snapshot_view] views_dir, allowed_prefixes: where a snapshot view may lie" {
	local id
	id=$(mx_id view)
	ck_view_bundle "$id" "$MX_T/elsewhere/v"
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "snapshot view \`$MX_T/elsewhere/v\`: must be under one of the allowed prefixes \`/run/urunc/views\`"

	ck_set snapshot_view "views_dir = \"$MX_T/views\""
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "must be under one of the allowed prefixes \`$MX_T/views\`"

	ck_set snapshot_view "allowed_prefixes = [\"$MX_T/a\", \"$MX_T/b/\"]"
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "must be under one of the allowed prefixes \`$MX_T/a\`, \`$MX_T/b\`"

	# Under an allowed prefix, the next rule speaks.
	mkdir -p "$MX_T/a/v"
	ck_view_bundle "$id" "$MX_T/a/v"
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "snapshot view \`$MX_T/a/v\`: must be a mountpoint"
	mx_nothing_left "$id"
}

# --- [runtime] ------------------------------------------------------------------------------

@test "[runtime] require_kvm: no TCG fallback when /dev/kvm is not usable" {
	local id
	id=$(mx_id tcg)
	ck_bundle "$id"
	MX_KVM_WRAP=(mx_nokvm)
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -accel tcg

	id=$(mx_id kvmreq)
	ck_bundle "$id"
	ck_set runtime 'require_kvm = true'
	run mx_create "$id" "$MX_T/$id"
	[ "$status" -eq 1 ]
	ck_has "$MX_T/$id.err" "qemu needs /dev/kvm ([runtime] require_kvm is set): "
	mx_nothing_left "$id"
}

@test "[runtime] runc_path: a plain bundle goes to that binary" {
	local id
	id=$(mx_id runc)
	tl_make_bundle "$MX_T/$id" unikernelType hypervisor binary unikernelVersion
	printf '#!/bin/sh\necho "$@" >"%s"\n' "$MX_T/runc.argv" >"$MX_T/fake-runc"
	chmod +x "$MX_T/fake-runc"
	ck_set runtime "runc_path = \"$MX_T/fake-runc\""
	mx_create "$id" "$MX_T/$id"
	[ "$(cat "$MX_T/runc.argv")" = "--root $MX_ROOT create --bundle $MX_T/$id --pid-file $MX_T/$id.pid $id" ]
	mx_nothing_left "$id"
}

@test "[runtime] memory_overhead: \"add\" gives the guest the whole limit" {
	local id
	id=$(mx_id add)
	ck_bundle "$id"
	ck_set runtime 'memory_overhead = "add"'
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -m 512M
}

@test "[runtime] cache_dir: the VMM's libraries found once, found again when a file changes" {
	local id entry ino
	# A dynamic VMM: it only starts if its libraries are in the monitor root.
	cp "$FAKEVMM_DYN" "$MX_T/vmm"
	sed -i "s|^path = \"$FAKEVMM\"\$|path = \"$MX_T/vmm\"|" "$URUNC_CONFIG"
	ck_set runtime "cache_dir = \"$MX_T/cache\""

	id=$(mx_id cache1)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	entry=$(grep -lxF "K $MX_T/vmm" "$MX_T"/cache/*)
	[ "$(wc -l <<<"$entry")" -eq 1 ]
	grep -q '^V libs /.*/libc\.so\.6$' "$entry"
	[ "$(stat -c %a "$MX_T/cache")" = 700 ] && [ "$(stat -c %a "$entry")" = 600 ]
	ino=$(stat -c %i "$entry")

	# Unchanged: the entry answers, it is not written again.
	id=$(mx_id cache2)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	[ "$(stat -c %i "$entry")" = "$ino" ]

	# A stale answer (libc dropped) with a changed binary: found again, and the VMM starts.
	sed -i '/libc\.so\.6$/d' "$entry"
	touch -d '2001-01-01' "$MX_T/vmm"
	id=$(mx_id cache3)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	grep -q '^V libs /.*/libc\.so\.6$' "$entry"

	# "" turns the cache off: nothing written, here or in the default directory.
	cp "$FAKEVMM_DYN" "$MX_T/vmm2"
	sed -i -e "s|^path = \"$MX_T/vmm\"\$|path = \"$MX_T/vmm2\"|" \
		-e "s|^cache_dir = .*|cache_dir = \"\"|" "$URUNC_CONFIG"
	id=$(mx_id cache4)
	ck_bundle "$id"
	mx_run_vmm "$id" "$MX_T/$id"
	! grep -rlsF "K $MX_T/vmm2" "$MX_T/cache" /var/cache/urunc
}

# --- the rest -------------------------------------------------------------------------------

@test "unknown sections and keys are ignored" {
	local id
	id=$(mx_id unknown)
	ck_bundle "$id"
	ck_set monitors.qemu 'no_such_key = 1'
	printf '[no_such_section]\nx = "y"\n' >>"$URUNC_CONFIG"
	mx_run_vmm "$id" "$MX_T/$id"
	ck_expect_word "$id" -m 384M
}
