#!/usr/bin/env bats
# Guest resources through the real binary, with the fake VMM: the guest's RAM is the memory
# limit less the VMM's overhead reserve while the container's cgroup keeps the limit (or, in
# "add" mode, the guest gets the limit and the cgroup limit + reserve); a limit too small
# for the reserve plus the guest's minimum is refused at create; vCPUs follow the CPU quota.
# The policy is docs/configuration.md ("Memory and vCPUs"); the arithmetic is unit-tested in
# tests/unit/oci/guest_resources_test.cpp.

load matrix_helpers
load cgroup_paths

setup() { mx_setup; }
teardown() { mx_teardown; }

MiB=1048576

# res_bundle <bundle> <guest> <vmm> <id>: mx_bundle (512 MiB limit) in a cgroup of its own.
res_bundle() {
	mx_bundle "$1" "$2" "$3"
	mx_jq "$1" --arg cg "/urunc-it-res-$4" '.linux.cgroupsPath = $cg'
}

# res_limit <id>: the memory limit of the container's cgroup, in bytes ("max" if none).
res_limit() {
	local d v
	d=$(cg_root memory)/urunc-it-res-$1
	if [ -f "$d/memory.limit_in_bytes" ]; then
		v=$(cat "$d/memory.limit_in_bytes")
		# cgroup v1 shows "no limit" as the largest page-aligned value.
		if [ "$v" -ge 9223372036854000000 ]; then echo max; else echo "$v"; fi
	elif [ -f "$d/memory.max" ]; then
		cat "$d/memory.max"
	else
		echo "no memory cgroup at $d" >&2
		return 1
	fi
}

@test "512 MiB limit on qemu: the guest gets 384 MiB (128 reserved for QEMU), the cgroup keeps 512" {
	local id b
	id=$(mx_id res)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -m)" = 384M ]
	[ "$(res_limit "$id")" = $((512 * MiB)) ]
	grep -q "guest resources: 384 MiB of RAM, 1 vCPU(s); memory cgroup limit 512 MiB" "$MX_T/$id.err"
}

@test "memory_overhead_mib from the host config: the guest gets the limit less that" {
	local id b
	id=$(mx_id resc)
	b=$MX_T/$id
	res_bundle "$b" rumprun spt "$id"
	sed -i '/^\[monitors.spt\]$/a memory_overhead_mib = 100' "$URUNC_CONFIG"
	mx_run_vmm "$id" "$b"
	mx_argv "$id"
	[ "${MX_ARGV[1]}" = --mem=412 ]
	[ "$(res_limit "$id")" = $((512 * MiB)) ]
}

@test "add mode: the guest gets the whole limit, the cgroup limit + the reserve" {
	local id b
	id=$(mx_id resa)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	printf '[runtime]\nmemory_overhead = "add"\n' >>"$URUNC_CONFIG"
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -m)" = 512M ]
	[ "$(res_limit "$id")" = $(((512 + 128) * MiB)) ]
}

@test "no memory limit: the default guest RAM, no cgroup limit" {
	local id b
	id=$(mx_id resn)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_jq "$b" 'del(.linux.resources.memory)'
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -m)" = 256M ]
	[ "$(res_limit "$id")" = max ]
}

@test "a limit below reserve + the guest's minimum is refused at create, naming both numbers" {
	local id b status=0
	id=$(mx_id ress)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_jq "$b" '.linux.resources.memory.limit = 200 * 1048576'
	mx_create "$id" "$b" || status=$?
	cat "$MX_T/$id.err"
	[ "$status" -eq 1 ]
	grep -qF "memory limit 200 MiB (linux.resources.memory.limit) is too small for a linux guest on qemu: it must hold the VMM's overhead reserve of 128 MiB ([monitors.qemu] memory_overhead_mib) plus the guest's minimum of 96 MiB, 224 MiB in all" "$MX_T/$id.err"
	mx_nothing_left "$id"
	# Exactly reserve + minimum is enough.
	id=$(mx_id ress2)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_jq "$b" '.linux.resources.memory.limit = 224 * 1048576'
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -m)" = 96M ]
}

@test "vCPUs: ceil(quota/period) when a CPU quota is set, at most the host's CPUs" {
	local id b host
	host=$(getconf _NPROCESSORS_ONLN)
	id=$(mx_id resq)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_jq "$b" '.linux.resources.cpu = {quota: 50000, period: 100000}'
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -smp)" = 1 ]

	# Far more than the host has: the host's count.
	id=$(mx_id resq2)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	mx_jq "$b" '.linux.resources.cpu = {quota: 6400000, period: 100000}'
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -smp)" = "$host" ]

	# No quota: [monitors.qemu] default_vcpus.
	id=$(mx_id resq3)
	b=$MX_T/$id
	res_bundle "$b" linux qemu "$id"
	sed -i '/^\[monitors.qemu\]$/a default_vcpus = 3' "$URUNC_CONFIG"
	mx_run_vmm "$id" "$b"
	[ "$(mx_word_after "$id" -smp)" = 3 ]
}
