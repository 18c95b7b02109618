#!/usr/bin/env bats
# The test kernel (tests/fixtures/testkernel, a multiboot image shaped like a Unikraft x86
# build) as a unikraft guest on real QEMU under TCG, through `urunc run`. The kernel prints
# `cmdline: <multiboot command line>` (QEMU puts the kernel path first) and powers off, so
# the guest's own view of process.args and process.env is checked byte for byte, including
# the blank runs of Unikraft's command-line layout (src/unikernels/unikraft.cpp).

load matrix_e2e_helpers

setup() { me_setup; }
teardown() { me_teardown; }

# uk_bundle <bundle> [annotation overrides...]: the test kernel as unikraft on qemu, args
# ["app","--flag","x y"], env ["FOO=bar"], run as uid/gid 1000 (QEMU unprivileged in its
# minimal root), no network namespace.
uk_bundle() {
	local b=$1
	shift
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=unikraft hypervisor=qemu "$@" >/dev/null
	me_jq "$b" '.process.args = ["app", "--flag", "x y"]
		| .process.env = ["FOO=bar"]
		| .process.user = {uid: 1000, gid: 1000}
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]'
}

@test "unikraft on qemu/TCG: the guest sees process.args and process.env" {
	local id b
	id=$(me_id uk)
	b=$ME_T/$id
	uk_bundle "$b"
	me_run "$id" "$b"
	[ "$ME_STATUS" -eq 0 ] # ACPI power-off: QEMU exits 0
	me_has_line "$id" "URUNC-TESTKERNEL: booted"
	me_has_line "$id" "cmdline: /.urunc/kernel Unikraft  env.vars=[ FOO=bar ]     -- app --flag x y"
	me_has_line "$id" "URUNC-TESTKERNEL: exiting"
	grep -q "qemu runs the guest under TCG" "$ME_T/$id.err"
	me_nothing_left "$id"
}

@test "unikraft < 0.16.1 on qemu/TCG: compat command line, environment dropped" {
	local id b
	id=$(me_id uk-old)
	b=$ME_T/$id
	uk_bundle "$b" unikernelVersion=0.15.0
	me_run "$id" "$b"
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "cmdline: /.urunc/kernel Unikraft       -- app --flag x y"
	me_nothing_left "$id"
}

@test "unikraft on qemu/TCG with linux.seccomp: QEMU boots the guest under --sandbox" {
	local id b
	id=$(me_id uk-sc)
	b=$ME_T/$id
	uk_bundle "$b"
	me_jq "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW"}'
	me_run "$id" "$b"
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "cmdline: /.urunc/kernel Unikraft  env.vars=[ FOO=bar ]     -- app --flag x y"
	me_has_line "$id" "URUNC-TESTKERNEL: exiting"
	me_nothing_left "$id"
}

@test "unikraft on qemu/TCG: an env value with blanks reaches env.vars unquoted (as upstream)" {
	local id b
	id=$(me_id uk-env)
	b=$ME_T/$id
	uk_bundle "$b"
	me_jq "$b" '.process.env = ["FOO=bar", "GREETING=hello world"] | .process.args = ["app"]'
	me_run "$id" "$b"
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "cmdline: /.urunc/kernel Unikraft  env.vars=[ FOO=bar GREETING=hello world ]     -- app"
	me_nothing_left "$id"
}
