#!/usr/bin/env bats
# The guest x VMM matrix through the real binary: every allowed pair is created and started
# with the fake VMM standing in for the monitor, and what the "VMM" saw is checked: its
# exact argv (binary, memory in MiB, the kernel at /.urunc/kernel, the guest command line
# carrying process.args and process.env), its user (process.user), its root (only what it
# needs), its /dev, its environment and seccomp state. Then the refusals: pairs that are not
# allowed, unknown names, missing or hostile boot files, a bad urunc.json, KVM monitors
# without KVM; each fails at create with exit status 1 and leaves nothing behind.
#
# KVM: urunc probes /dev/kvm. Monitors that need it (firecracker, hvt, cloud-hypervisor)
# are started with real KVM when this host has it, else with KVM faked through the
# test-build seam (mx_fakekvm), so their launch is always exercised; "no KVM" is tested in
# a private mount namespace where /dev/kvm is a bind of /dev/null (or absent).

load matrix_helpers

setup() { mx_setup; }
teardown() { mx_teardown; }

# --- expected argv --------------------------------------------------------------------------

# The guest command line each guest builds from args ["mxapp","mxarg"] and env
# ["URUNC=urunc","FOO=bar"], without network or rootfs (see src/unikernels/*.cpp).
guest_cmdline() {
	case $1 in
	unikraft) echo 'Unikraft  env.vars=[ URUNC=urunc FOO=bar ]     -- mxapp mxarg' ;;
	linux) echo 'panic=-1 console=ttyS0 URUNC=urunc FOO=bar init=mxapp -- mxarg' ;;
	rumprun) echo '{"cmdline":"mxapp mxarg","env":"URUNC=urunc","env":"FOO=bar"}' ;;
	mirage) echo '  mxapp mxarg' ;;
	mewz) echo '' ;; # mewz takes only network words
	hermit) echo 'mxapp mxarg' ;;
	esac
}

# guest_mib <vmm>: the guest RAM of mx_bundle's 512 MiB limit, less the VMM's built-in
# overhead reserve ([monitors.<vmm>] memory_overhead_mib, docs/configuration.md).
guest_mib() {
	case $1 in
	qemu) echo 384 ;;
	firecracker) echo 480 ;;
	cloud-hypervisor) echo 464 ;;
	hvt | spt) echo 496 ;;
	esac
}

# expected_argv <guest> <vmm> <seccomp:yes|no> <kvm:yes|no>: sets WANT.
expected_argv() {
	local guest=$1 vmm=$2 sc=$3 kvm=$4 cmd mem
	cmd=$(guest_cmdline "$guest")
	mem=$(guest_mib "$vmm")
	case $vmm in
	qemu)
		WANT=("$FAKEVMM" -m "${mem}M" -L /usr/share/qemu)
		if [ "$kvm" = yes ]; then WANT+=(-enable-kvm -cpu host); else WANT+=(-accel tcg -cpu max); fi
		WANT+=(-display none -vga none -serial stdio -monitor null -no-reboot -smp 1)
		[ "$sc" = no ] || WANT+=(--sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny)
		WANT+=(-kernel /.urunc/kernel -nic none)
		case $guest in
		linux) WANT+=(-nodefaults) ;;
		mewz) WANT+=(-device isa-debug-exit,iobase=0x501,iosize=2) ;;
		esac
		WANT+=(-append "$cmd")
		;;
	hvt | spt)
		WANT=("$FAKEVMM" "--mem=$mem" -- /.urunc/kernel)
		[ -z "$cmd" ] || WANT+=("$cmd")
		;;
	firecracker)
		WANT=("$FAKEVMM" --no-api --config-file /tmp/fc.json)
		[ "$sc" = yes ] || WANT+=(--no-seccomp)
		;;
	cloud-hypervisor)
		local s=false
		[ "$sc" = no ] || s=true
		WANT=("$FAKEVMM" --memory "size=${mem}M" --cpus boot=1 --kernel /.urunc/kernel --console off
			--serial tty --seccomp "$s" --cmdline "$cmd")
		;;
	esac
}

uses_kvm() { case $1 in qemu | firecracker | hvt | cloud-hypervisor) return 0 ;; esac; return 1; }
needs_kvm() { case $1 in firecracker | hvt | cloud-hypervisor) return 0 ;; esac; return 1; }

# check_firecracker_json <id> <guest>: the VM description the VMM would load, read from
# outside through /proc/<pid>/root while the VMM runs (it lives on the root's /tmp tmpfs).
check_firecracker_json() {
	local id=$1 guest=$2 pid json
	pid=$(cat "$MX_T/$id.pid")
	json=$(cat "/proc/$pid/root/tmp/fc.json")
	echo "fc.json: $json"
	local want
	want=$(jq -cn --arg k /.urunc/kernel --arg c "$(guest_cmdline "$guest")" \
		--argjson m "$(guest_mib firecracker)" \
		'{"boot-source":{kernel_image_path:$k, boot_args:$c},
		  "machine-config":{vcpu_count:1, mem_size_mib:$m, smt:false, track_dirty_pages:false},
		  drives:[]}')
	[ "$(jq -cS . <<<"$json")" = "$(jq -cS . <<<"$want")" ]
}

# check_pair <guest> <vmm>: create + start, then everything the VMM saw.
check_pair() {
	local guest=$1 vmm=$2 kvm=no data=no id b
	if needs_kvm "$vmm"; then mx_need_kvm; fi
	if uses_kvm "$vmm" && mx_kvm_on; then kvm=yes; fi
	[ "$vmm" != qemu ] || data=yes # /usr/share/qemu
	id=$(mx_id "$guest-$vmm")
	b=$MX_T/$id
	mx_bundle "$b" "$guest" "$vmm"
	mx_run_vmm "$id" "$b"

	expected_argv "$guest" "$vmm" no "$kvm"
	mx_expect_argv "$id" "${WANT[@]}"
	# process.user, with its additional group; nothing inherited from root.
	mx_expect "$id" uid 1000
	mx_expect "$id" gid 1000
	mx_expect "$id" groups 44
	mx_expect "$id" capeff 0000000000000000
	# A clean environment: the container's env went to the guest command line.
	mx_expect "$id" 'env\[0\]' "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	[ -z "$(mx_field "$id" 'env\[1\]')" ]
	mx_expect_root "$id" "$data"
	if [ "$kvm" = yes ]; then
		mx_expect "$id" dev kvm,null,urandom,zero
	else
		mx_expect "$id" dev null,urandom,zero
	fi
	# No linux.seccomp: no filter from urunc.
	mx_expect "$id" seccomp 0
	mx_expect "$id" nonewprivs 0
	[ "$vmm" != firecracker ] || check_firecracker_json "$id" "$guest"
}

# --- every allowed pair ---------------------------------------------------------------------

@test "pair hvt/rumprun: argv, user, root, devices" { check_pair rumprun hvt; }
@test "pair hvt/mirage: argv, user, root, devices" { check_pair mirage hvt; }
@test "pair spt/rumprun: argv, user, root, devices" { check_pair rumprun spt; }
@test "pair spt/mirage: argv, user, root, devices" { check_pair mirage spt; }
@test "pair qemu/mewz: argv, user, root, devices" { check_pair mewz qemu; }
@test "pair qemu/mirage: argv, user, root, devices" { check_pair mirage qemu; }
@test "pair qemu/unikraft: argv, user, root, devices" { check_pair unikraft qemu; }
@test "pair qemu/linux: argv, user, root, devices" { check_pair linux qemu; }
@test "pair qemu/hermit: argv, user, root, devices" { check_pair hermit qemu; }
@test "pair firecracker/linux: argv, config file, user, root, devices" { check_pair linux firecracker; }
@test "pair firecracker/unikraft: argv, config file, user, root, devices" { check_pair unikraft firecracker; }
@test "pair cloud-hypervisor/linux: argv, user, root, devices" { check_pair linux cloud-hypervisor; }

# --- acceleration, network namespace, memory ------------------------------------------------

@test "qemu without usable KVM: TCG argv and no /dev/kvm in the VMM's root" {
	local id b
	id=$(mx_id tcg)
	b=$MX_T/$id
	mx_bundle "$b" unikraft qemu
	# Only create (the probe and the plan) runs without KVM; start runs in the host namespace.
	echo "$id" >>"$MX_T/ids"
	mx_nokvm timeout -k 2 30 "$URUNC" --root "$MX_ROOT" create --bundle "$b" --pid-file "$MX_T/$id.pid" "$id" \
		>"$MX_T/$id.out" 2>"$MX_T/$id.err" </dev/null || { cat "$MX_T/$id.err"; false; }
	grep -q "KVM is not usable on this host (/dev/kvm: .*): qemu runs the guest under TCG" "$MX_T/$id.err"
	"$URUNC" --root "$MX_ROOT" start "$id"
	mx_wait_ready "$id"
	expected_argv unikraft qemu no no
	mx_expect_argv "$id" "${WANT[@]}"
	mx_expect "$id" dev null,urandom,zero
}

@test "a network namespace adds /dev/net/tun (and only then)" {
	local id b pid
	id=$(mx_id netns)
	b=$MX_T/$id
	mx_bundle "$b" rumprun spt
	mx_jq "$b" '.linux.namespaces += [{type: "network"}]'
	mx_run_vmm "$id" "$b"
	mx_expect "$id" dev net,null,urandom,zero
	pid=$(cat "$MX_T/$id.pid")
	[ -c "/proc/$pid/root/dev/net/tun" ]
	[ "$(ls "/proc/$pid/root/dev/net")" = tun ]
	# A fresh namespace has no interface with a default route: no tap, no net words.
	expected_argv rumprun spt no no
	mx_expect_argv "$id" "${WANT[@]}"
}

@test "memory without a limit: [monitors.<vmm>] default_memory_mb, in MiB" {
	local id b
	id=$(mx_id mem)
	b=$MX_T/$id
	mx_bundle "$b" mirage spt
	mx_jq "$b" 'del(.linux.resources)'
	printf '[monitors.spt]\npath = "%s"\ndefault_memory_mb = 384\n' "$FAKEVMM" >"$URUNC_CONFIG"
	mx_run_vmm "$id" "$b"
	mx_expect_argv "$id" "$FAKEVMM" --mem=384 -- /.urunc/kernel "$(guest_cmdline mirage)"
}

@test "memory limit that is not a whole MiB is rounded down (600000000 B -> 572 MiB, less qemu's 128)" {
	local id b
	id=$(mx_id memr)
	b=$MX_T/$id
	mx_bundle "$b" linux qemu
	mx_jq "$b" '.linux.resources.memory.limit = 600000000'
	mx_run_vmm "$id" "$b"
	mx_argv "$id"
	[ "${MX_ARGV[1]}" = -m ]
	[ "${MX_ARGV[2]}" = 444M ]
}

# --- seccomp (linux.seccomp present) --------------------------------------------------------

# seccomp_pair <guest> <vmm>: with linux.seccomp in config.json; checks the argv.
seccomp_pair() {
	local guest=$1 vmm=$2 kvm=no id b
	if needs_kvm "$vmm"; then mx_need_kvm; fi
	if uses_kvm "$vmm" && mx_kvm_on; then kvm=yes; fi
	id=$(mx_id "sc-$vmm")
	b=$MX_T/$id
	mx_bundle "$b" "$guest" "$vmm"
	mx_jq "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW"}'
	mx_run_vmm "$id" "$b"
	expected_argv "$guest" "$vmm" yes "$kvm"
	mx_expect_argv "$id" "${WANT[@]}"
	# These VMMs sandbox themselves; urunc installs no filter of its own.
	mx_expect "$id" seccomp 0
}

@test "seccomp: qemu gets --sandbox on,..." { seccomp_pair unikraft qemu; }
@test "seccomp: firecracker keeps its own filter (no --no-seccomp)" { seccomp_pair linux firecracker; }
@test "seccomp: cloud-hypervisor gets --seccomp true" { seccomp_pair linux cloud-hypervisor; }
@test "seccomp: spt adds nothing (solo5-spt sandboxes itself)" { seccomp_pair rumprun spt; }

# The fake VMM cannot run under urunc's hvt allow-list: static glibc's start-up calls
# readlink("/proc/self/exe"), which the list does not allow, so it dies with SIGSYS before
# it prints a line. A libc-free probe (matrix_seccomp_probe.c) stands in for solo5-hvt.
build_probe() {
	[ "$(uname -m)" = x86_64 ] || skip "the seccomp probe is x86_64 only"
	command -v gcc >/dev/null || skip "gcc is not installed"
	gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -O1 \
		-o "$MX_T/probe" "$BATS_TEST_DIRNAME/matrix_seccomp_probe.c"
	printf '[monitors.hvt]\npath = "%s"\n' "$MX_T/probe" >"$URUNC_CONFIG"
}

# run_probe <id> <bundle>: urunc run (foreground, the probe exits); sets status.
run_probe() {
	echo "$1" >>"$MX_T/ids"
	status=0
	"${MX_KVM_WRAP[@]}" timeout -k 2 30 "$URUNC" --root "$MX_ROOT" run --bundle "$2" "$1" \
		>"$MX_T/$1.out" 2>"$MX_T/$1.err" \
		</dev/null || status=$?
	cat "$MX_T/$1.out" "$MX_T/$1.err"
}

@test "seccomp: hvt runs under urunc's allow-list (mode 2, no_new_privs, SIGSYS outside it)" {
	mx_need_kvm
	build_probe
	local id b
	id=$(mx_id sc-hvt)
	b=$MX_T/$id
	mx_bundle "$b" rumprun hvt
	mx_jq "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW"}'
	run_probe "$id" "$b"
	grep -qx "probe: argv=--mem=$(guest_mib hvt)" "$MX_T/$id.out"
	grep -qxF "probe: argv=$(guest_cmdline rumprun)" "$MX_T/$id.out"
	grep -qx "probe: Seccomp:[[:space:]]*2" "$MX_T/$id.out"
	grep -qx "probe: NoNewPrivs:[[:space:]]*1" "$MX_T/$id.out"
	grep -qx "probe: calling getuid" "$MX_T/$id.out"
	if grep -q "probe: survived" "$MX_T/$id.out"; then
		echo "the probe survived a syscall outside the allow-list"
		false
	fi
	[ "$status" -eq 159 ] # 128 + SIGSYS: the filter's trap action
	mx_nothing_left "$id"
}

@test "seccomp: hvt without linux.seccomp runs unfiltered" {
	mx_need_kvm
	build_probe
	local id b
	id=$(mx_id nosc-hvt)
	b=$MX_T/$id
	mx_bundle "$b" rumprun hvt
	run_probe "$id" "$b"
	grep -qx "probe: Seccomp:[[:space:]]*0" "$MX_T/$id.out"
	grep -qx "probe: NoNewPrivs:[[:space:]]*0" "$MX_T/$id.out"
	grep -qx "probe: survived" "$MX_T/$id.out"
	[ "$status" -eq 0 ]
}

# --- refusals at create ---------------------------------------------------------------------

# expect_create_error <id> <bundle> <message> [runner...]: create (through the runner, e.g.
# mx_nokvm) fails with status 1, says <message>, and leaves nothing behind.
expect_create_error() {
	local id=$1 b=$2 msg=$3 rc=0
	shift 3
	echo "$id" >>"$MX_T/ids"
	"$@" timeout -k 2 30 "$URUNC" --root "$MX_ROOT" create --bundle "$b" --pid-file "$MX_T/$id.pid" "$id" \
		>"$MX_T/$id.out" 2>&1 </dev/null || rc=$?
	cat "$MX_T/$id.out"
	[ "$rc" -eq 1 ] || { echo "create exited $rc, expected 1"; return 1; }
	grep -qF -- "$msg" "$MX_T/$id.out" || { echo "the error does not say: $msg"; return 1; }
	[ ! -e "$MX_T/$id.pid" ] || { echo "a pid file was written"; return 1; }
	mx_nothing_left "$id"
	[ -z "$(ls -A "$MX_ROOT")" ] || { echo "left under the state root: $(ls -A "$MX_ROOT")"; return 1; }
}

# refused <name> <message> [annotation overrides...]: a unikraft/qemu bundle with overrides.
refused() {
	local name=$1 msg=$2 id
	shift 2
	id=$(mx_id "$name")
	mx_bundle "$MX_T/$id" unikraft qemu "$@"
	expect_create_error "$id" "$MX_T/$id" "$msg"
}

@test "refused pairs: unikraft on hvt, linux on spt, rumprun on qemu, mirage on firecracker, hermit on cloud-hypervisor" {
	refused p1 "\`hvt\` cannot run unikernel type \`unikraft\` (supported: qemu, firecracker)" \
		unikernelType=unikraft hypervisor=hvt
	refused p2 "\`spt\` cannot run unikernel type \`linux\`" unikernelType=linux hypervisor=spt
	refused p3 "\`qemu\` cannot run unikernel type \`rumprun\` (supported: hvt, spt)" \
		unikernelType=rumprun hypervisor=qemu
	refused p4 "\`firecracker\` cannot run unikernel type \`mirage\`" unikernelType=mirage hypervisor=firecracker
	refused p5 "\`cloud-hypervisor\` cannot run unikernel type \`hermit\`" \
		unikernelType=hermit hypervisor=cloud-hypervisor
}

@test "refused: unknown guest, unknown VMM, missing required annotation" {
	refused g1 "annotation \`com.urunc.unikernel.unikernelType\`: unknown unikernel type \`osv\`" unikernelType=osv
	refused g2 "annotation \`com.urunc.unikernel.hypervisor\`: unknown hypervisor \`xen\`" hypervisor=xen
	refused g3 "annotation \`com.urunc.unikernel.binary\`: required but not set" binary
}

@test "refused: missing kernel, kernel that is a directory" {
	refused k1 "kernel: open \`/unikernel/missing\` in \`$MX_T/$(mx_id k1)/rootfs\`: No such file or directory" \
		binary=/unikernel/missing
	refused k2 "kernel: \`/unikernel\` is not a regular file (it is a directory)" binary=/unikernel
	refused k3 "initrd: open \`/unikernel/no-initrd\` in \`$MX_T/$(mx_id k3)/rootfs\`: No such file or directory" \
		initrd=/unikernel/no-initrd
}

@test "refused: hostile annotation paths" {
	refused h1 "annotation \`com.urunc.unikernel.binary\`: \`../x\` must not start with \`..\`" binary=../x
	refused h2 "annotation \`com.urunc.unikernel.binary\`: \`/../etc/passwd\` is not a normalised path" \
		binary=/../etc/passwd
	refused h3 "annotation \`com.urunc.unikernel.binary\`: \`/unikernel/../../etc/passwd\` is not a normalised path" \
		binary=/unikernel/../../etc/passwd
	refused h4 "annotation \`com.urunc.unikernel.initrd\`: \`../../etc/shadow\` must not start with \`..\`" \
		initrd=../../etc/shadow
	refused h5 "annotation \`com.urunc.unikernel.binary\`: \`-kernel\` must not start with \`-\`" binary=-kernel
	refused h6 "annotation \`com.urunc.unikernel.binary\`: \`/unikernel/k\$(id)\` may only contain" \
		'binary=/unikernel/k$(id)'
}

@test "refused: a kernel symlink out of the rootfs (absolute and relative)" {
	local id
	id=$(mx_id s1)
	mx_bundle "$MX_T/$id" unikraft qemu binary=/unikernel/link
	ln -s /etc/passwd "$MX_T/$id/rootfs/unikernel/link"
	expect_create_error "$id" "$MX_T/$id" \
		"kernel: \`/unikernel/link\` in \`$MX_T/$id/rootfs\` escapes it through a symlink"
	id=$(mx_id s2)
	mx_bundle "$MX_T/$id" unikraft qemu binary=/unikernel/link
	ln -s ../../../../../../../../etc/passwd "$MX_T/$id/rootfs/unikernel/link"
	expect_create_error "$id" "$MX_T/$id" "escapes it through a symlink"
	# A directory symlink on the way out, too.
	id=$(mx_id s3)
	mx_bundle "$MX_T/$id" unikraft qemu binary=/up/passwd
	ln -s / "$MX_T/$id/rootfs/up"
	expect_create_error "$id" "$MX_T/$id" "escapes it through a symlink"
}

@test "refused: KVM monitors without usable /dev/kvm say so" {
	local vmm guest id
	for vmm in firecracker hvt cloud-hypervisor; do
		case $vmm in hvt) guest=rumprun ;; *) guest=linux ;; esac
		id=$(mx_id "nokvm-$vmm")
		mx_bundle "$MX_T/$id" "$guest" "$vmm"
		expect_create_error "$id" "$MX_T/$id" "$vmm needs /dev/kvm" mx_nokvm
	done
}

@test "refused: a VMM binary that does not exist" {
	local id
	id=$(mx_id nobin)
	mx_bundle "$MX_T/$id" rumprun spt
	printf '[monitors.spt]\npath = "%s/no-such-vmm"\n' "$MX_T" >"$URUNC_CONFIG"
	expect_create_error "$id" "$MX_T/$id" "\`$MX_T/no-such-vmm\`: No such file or directory"
}

# --- urunc.json (rootfs, no annotations, base64 values) -------------------------------------

b64() { printf '%s' "$1" | base64 -w0; }

# json_bundle <bundle> <urunc.json content>: a bundle without urunc annotations.
json_bundle() {
	mx_bundle "$1" unikraft qemu unikernelType hypervisor binary unikernelVersion
	[ "$(jq '.annotations | length' "$1/config.json")" -eq 0 ]
	printf '%s' "$2" >"$1/rootfs/urunc.json"
}

json3() {
	printf '{"com.urunc.unikernel.unikernelType":"%s","com.urunc.unikernel.hypervisor":"%s","com.urunc.unikernel.binary":"%s"}' \
		"$1" "$2" "$3"
}

@test "urunc.json with base64 values configures the guest" {
	local id
	id=$(mx_id json)
	json_bundle "$MX_T/$id" "$(json3 "$(b64 rumprun)" "$(b64 spt)" "$(b64 /unikernel/kernel)")"
	mx_run_vmm "$id" "$MX_T/$id"
	expected_argv rumprun spt no no
	mx_expect_argv "$id" "${WANT[@]}"
}

@test "refused: urunc.json with a value that is not base64, malformed JSON, a hostile path" {
	local id
	# Not base64: taken as plaintext (see unikernel_config.hpp), which names no hypervisor.
	id=$(mx_id j1)
	json_bundle "$MX_T/$id" "$(json3 "$(b64 unikraft)" 'cWVt%%%' "$(b64 /unikernel/kernel)")"
	expect_create_error "$id" "$MX_T/$id" \
		"annotation \`com.urunc.unikernel.hypervisor\`: unknown hypervisor \`cWVt%%%\`"
	id=$(mx_id j2)
	json_bundle "$MX_T/$id" '{"com.urunc.unikernel.unikernelType":'
	expect_create_error "$id" "$MX_T/$id" "urunc.json: "
	id=$(mx_id j3)
	json_bundle "$MX_T/$id" "$(json3 "$(b64 unikraft)" "$(b64 qemu)" "$(b64 /../etc/passwd)")"
	expect_create_error "$id" "$MX_T/$id" \
		"annotation \`com.urunc.unikernel.binary\`: \`/../etc/passwd\` is not a normalised path"
	id=$(mx_id j4)
	json_bundle "$MX_T/$id" "$(json3 "$(b64 unikraft)" "$(b64 hvt)" "$(b64 /unikernel/kernel)")"
	expect_create_error "$id" "$MX_T/$id" "\`hvt\` cannot run unikernel type \`unikraft\`"
}

# --- boot artifacts and the urunit config blob ----------------------------------------------

@test "kernel and initrd are bound read-only at /.urunc; qemu gets -initrd /.urunc/initrd" {
	local id b pid
	id=$(mx_id artifacts)
	b=$MX_T/$id
	mx_bundle "$b" linux qemu initrd=/unikernel/initrd
	head -c 4096 /dev/urandom >"$b/rootfs/unikernel/initrd"
	mx_run_vmm "$id" "$b"
	pid=$(cat "$MX_T/$id.pid")
	[ "$(ls "/proc/$pid/root/.urunc" | paste -sd, -)" = initrd,kernel ]
	cmp "$b/rootfs/unikernel/kernel" "/proc/$pid/root/.urunc/kernel"
	cmp "$b/rootfs/unikernel/initrd" "/proc/$pid/root/.urunc/initrd"
	# Read-only even for root: the VMM cannot change the image's files.
	if (echo x >>"/proc/$pid/root/.urunc/kernel") 2>/dev/null; then
		echo "the kernel is writable inside the VMM's root"
		false
	fi
	mx_argv "$id"
	local joined=" ${MX_ARGV[*]} "
	[[ $joined == *" -initrd /.urunc/initrd -nodefaults -append "* ]]
	[ "${MX_ARGV[-1]}" = "panic=-1 console=ttyS0 root=/dev/ram0 rw URUNC=urunc FOO=bar rdinit=mxapp -- mxarg" ]
}

@test "linux with an initrd and mountRootfs on a directory: -initrd for early userspace and the 9p share as root" {
	local id b pid
	id=$(mx_id initrd9p)
	b=$MX_T/$id
	mx_bundle "$b" linux qemu initrd=/unikernel/initrd mountRootfs=true
	head -c 4096 /dev/urandom >"$b/rootfs/unikernel/initrd"
	mx_run_vmm "$id" "$b"
	pid=$(cat "$MX_T/$id.pid")
	[ -e "/proc/$pid/root/.urunc/initrd" ]
	[ -d "/proc/$pid/root/cntrRootfs/unikernel" ]
	[[ $(jq -r .rootfsChoice "$MX_ROOT/$id/state.json") == "9pfs: the container rootfs is shared with the guest as its root, the initrd annotation's initrd boots first"* ]]
	mx_argv "$id"
	local joined=" ${MX_ARGV[*]} "
	[[ $joined == *" -initrd /.urunc/initrd -fsdev local,id=rootfs9p,security_model=none,readonly=on,path=/cntrRootfs -device virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0 -nodefaults -append "* ]]
	[ "${MX_ARGV[-1]}" = "panic=-1 console=ttyS0 root=fs0 ro rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=5000000,cache=mmap,posixacl URUNC=urunc FOO=bar init=mxapp -- mxarg" ]
}

URUNIT_CONF=$'UES\nURUNC=urunc\nFOO=bar\nUEE\nUCS\nUID:1000\nGID:1000\nWD:/tmp\nUCE\nUBS\nUBE'
URUNIT_CMDLINE="panic=-1 console=ttyS0 retain_initrd URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- mxarg"

# urunit_run <id> <vmm>: a linux guest whose init is urunit, without a rootfs; checks the blob.
urunit_run() {
	local id=$1 vmm=$2 b=$MX_T/$1
	mx_bundle "$b" linux "$vmm"
	mx_jq "$b" '.process.args = ["/urunit", "mxarg"] | .process.cwd = "/tmp"'
	mx_run_vmm "$id" "$b"
	local pid
	pid=$(cat "$MX_T/$id.pid")
	# The blob is a file of the VMM's root, loaded as the (only) initrd.
	[ "$(cat "/proc/$pid/root/urunit.conf")" = "$URUNIT_CONF" ]
}

@test "urunit init on qemu, no rootfs: env/uid/gid/cwd in /urunit.conf, loaded with -initrd" {
	local id
	id=$(mx_id urunit-qemu)
	urunit_run "$id" qemu
	mx_argv "$id"
	local joined=" ${MX_ARGV[*]} "
	[[ $joined == *" -nic none -initrd /urunit.conf -nodefaults -append "* ]]
	[ "${MX_ARGV[-1]}" = "$URUNIT_CMDLINE" ]
}

@test "urunit init on firecracker, no rootfs: /urunit.conf is the config's initrd_path" {
	mx_need_kvm
	local id pid
	id=$(mx_id urunit-fc)
	urunit_run "$id" firecracker
	pid=$(cat "$MX_T/$id.pid")
	jq -e --arg c "$URUNIT_CMDLINE" '."boot-source" == {kernel_image_path: "/.urunc/kernel",
		boot_args: $c, initrd_path: "/urunit.conf"}' "/proc/$pid/root/tmp/fc.json"
}

@test "urunit init on cloud-hypervisor, no rootfs: --initramfs /urunit.conf" {
	mx_need_kvm
	local id
	id=$(mx_id urunit-ch)
	urunit_run "$id" cloud-hypervisor
	mx_argv "$id"
	local joined=" ${MX_ARGV[*]} "
	[[ $joined == *" --seccomp false --initramfs /urunit.conf --cmdline "* ]]
	[ "${MX_ARGV[-1]}" = "$URUNIT_CMDLINE" ]
}
