#!/usr/bin/env bats
# A real Linux guest on QEMU/TCG through `urunc run`: Debian's cloud kernel (fetched once
# into /var/cache/urunc-test by scripts/setup.sh, via matrix_linux_kernel.sh --fetch) and a
# busybox initrd built at test time (matrix_linux_initrd.sh) whose init prints what the
# kernel handed it (`MXINIT: ...` lines) and powers the VM off.
#
# urunc's Linux command line for an initrd rootfs (src/unikernels/linux.cpp):
#   panic=-1 console=ttyS0 root=/dev/ram0 rw <env K=V words> rdinit=<args[0]> -- <args[1..]>
# The kernel hands the words after `--` to init as arguments and the K=V words it does not
# know as init's environment (plus HOME=/ and TERM=linux of its own).
#
# What a plain init does NOT get, by design of this contract:
# * process.user and process.cwd: the kernel starts init as root in `/`. urunc passes
#   uid/gid/cwd only to urunit (an init whose path contains "urunit"), in /urunit.conf;
#   a busybox init has no one to apply them, so it sees uid 0 and `/`.
# * an argument with blanks as one word: urunc wraps it in single quotes (urunit's
#   convention, urunit re-joins the words); the kernel splits on blanks and only knows
#   double quotes, so a plain init gets `'arg` and `two'`.

load matrix_e2e_helpers

setup() {
	me_setup
	command -v cpio >/dev/null || skip "\`cpio\` is not installed"
	# The kernel is fetched by scripts/setup.sh, never here. CI ran setup: missing is a failure.
	if ! LX_KERNEL=$("$BATS_TEST_DIRNAME/matrix_linux_kernel.sh" 2>"$ME_T/kernel.err"); then
		[ "${CI:-}" != true ] || { cat "$ME_T/kernel.err"; return 1; }
		skip "no Debian cloud kernel: $(tail -n 1 "$ME_T/kernel.err")"
	fi
}
teardown() { me_teardown; }

# lx_bundle <bundle> <init path>: vmlinuz and the busybox initrd in the image at /boot,
# linux on qemu, args [<init>, "arg1", "arg two"], env URUNC=urunc FOO=bar, cwd /tmp, user
# 1000:1000 (QEMU runs unprivileged), no network namespace.
lx_bundle() {
	local b=$1 init=$2
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=linux hypervisor=qemu \
		binary=/boot/vmlinuz initrd=/boot/initrd unikernelVersion >/dev/null
	rm -r "$b/rootfs/unikernel"
	mkdir "$b/rootfs/boot"
	cp "$LX_KERNEL" "$b/rootfs/boot/vmlinuz"
	"$BATS_TEST_DIRNAME/matrix_linux_initrd.sh" "$b/rootfs/boot/initrd" "$init"
	me_jq "$b" --arg init "$init" '.process.args = [$init, "arg1", "arg two"]
		| .process.env = ["URUNC=urunc", "FOO=bar"]
		| .process.cwd = "/tmp"
		| .process.user = {uid: 1000, gid: 1000}
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]'
}

@test "linux on qemu/TCG, busybox initrd: init gets process.args and process.env, powers off" {
	local id b
	id=$(me_id lx)
	b=$ME_T/$id
	lx_bundle "$b" /init
	me_run "$id" "$b" 60
	echo "# linux guest: urunc run took ${ME_SECONDS}s" >&3
	[ "$ME_STATUS" -eq 0 ] # poweroff -f: ACPI S5, QEMU exits 0
	me_has_line "$id" "MXINIT: done"
	# The kernel command line urunc built, as the guest sees it.
	me_has_line "$id" "MXINIT: cmdline=panic=-1 console=ttyS0 root=/dev/ram0 rw URUNC=urunc FOO=bar rdinit=/init -- arg1 'arg two'"
	# argv: args[0] is the init, the rest its arguments (`arg two` split: see the header).
	[ "$(me_lines "$id" "MXINIT: argv0=")" = /init ]
	[ "$(me_lines "$id" "MXINIT: argc=")" = 3 ]
	[ "$(me_lines "$id" "MXINIT: argv1=")" = arg1 ]
	[ "$(me_lines "$id" "MXINIT: argv2=")" = "'arg" ]
	[ "$(me_lines "$id" "MXINIT: argv3=")" = "two'" ]
	# env: exactly process.env plus the kernel's own HOME and TERM.
	[ "$(me_lines "$id" "MXINIT: env=" | paste -sd' ' -)" = "FOO=bar HOME=/ TERM=linux URUNC=urunc" ]
	# Root in `/`, not process.user / process.cwd: a plain init cannot apply them (header).
	me_has_line "$id" "MXINIT: uid=0 gid=0 cwd=/"
	me_nothing_left "$id"
}

@test "linux on qemu/TCG, urunit init with an initrd rootfs: /urunit.conf carries env, uid, gid, cwd" {
	local id b
	id=$(me_id lx-urunit)
	b=$ME_T/$id
	# The same reporting init, at a path that makes urunc treat it as urunit.
	lx_bundle "$b" /urunit
	me_run "$id" "$b" 60
	[ "$ME_STATUS" -eq 0 ]
	me_has_line "$id" "MXINIT: cmdline=panic=-1 console=ttyS0 root=/dev/ram0 rw URUNIT_CONFIG=/urunit.conf rdinit=/urunit -- arg1 'arg two'"
	# The environment goes through the blob, not the command line.
	[ "$(me_lines "$id" "MXINIT: env=" | paste -sd' ' -)" = "HOME=/ TERM=linux URUNIT_CONFIG=/urunit.conf" ]
	[ "$(me_lines "$id" "MXINIT: urunit.conf=" | paste -sd'|' -)" = \
		"UES|URUNC=urunc|FOO=bar|UEE|UCS|UID:1000|GID:1000|WD:/tmp|UCE|UBS|UBE" ]
	me_nothing_left "$id"
}
