# Helpers for vmm_matrix.bats: the real urunc binary against generated bundles, with the
# fake VMM (tests/fixtures/fakevmm) standing in for every monitor.
#
# The fake VMM writes a record to its stdout (argv, ids, the entries of / and /dev, seccomp
# mode, ...), then `fakevmm: ready`, then waits for a signal. It inherits create's stdout,
# so create's stdout goes to a file (never a pipe: a VMM left running would hold a pipe open
# and hang bats) and the tests poll that file, bounded, for `fakevmm: ready`.
#
# Used from bats:   load matrix_helpers; setup() { mx_setup; }; teardown() { mx_teardown; }

# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"

# A test that hangs fails after this long; teardown still runs.
: "${BATS_TEST_TIMEOUT:=60}"

# --- setup / teardown ---------------------------------------------------------------------

mx_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts, cgroups)"
	[ -n "${URUNC_BUILD:-}" ] || skip "URUNC_BUILD is not set (run through scripts/test.sh)"
	[ -f "$URUNC_BUILD/tests/fixtures/paths.env" ] || skip "fixtures not built"
	# shellcheck disable=SC1091
	. "$URUNC_BUILD/tests/fixtures/paths.env"
	local t
	for t in jq unshare timeout; do
		command -v "$t" >/dev/null || skip "\`$t\` is not installed"
	done
	URUNC=$URUNC_BUILD/src/cli/urunc
	[ -x "$URUNC" ] || skip "urunc is not built"
	MX_T=$(mktemp -d /tmp/urunc-mx.XXXXXX)
	MX_ROOT=$MX_T/state
	mkdir "$MX_ROOT"
	: >"$MX_T/ids"
	# Every monitor is the fake VMM.
	tl_monitor_config "$MX_T/urunc.toml" qemu "$FAKEVMM" firecracker "$FAKEVMM" hvt "$FAKEVMM" \
		spt "$FAKEVMM" cloud-hypervisor "$FAKEVMM"
	export URUNC_CONFIG=$MX_T/urunc.toml
	export URUNC FAKEVMM TESTKERNEL MAKE_BUNDLE MX_T MX_ROOT
}

mx_teardown() {
	[ -n "${MX_T:-}" ] && [ -d "$MX_T" ] || return 0
	local id pid
	# delete --force kills the VMM (or the parked init) and removes state and cgroups.
	while read -r id; do
		[ -n "$id" ] || continue
		timeout -k 2 10 "$URUNC" --root "$MX_ROOT" delete --force "$id" >/dev/null 2>&1 || true
		# A VMM that urunc failed to kill: only if the pid still runs the fake.
		pid=$(cat "$MX_T/$id.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = fakevmm ]; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done <"$MX_T/ids"
	rm -rf --one-file-system "$MX_T"
}

# mx_id <name>: a container id unique per run (cgroups are named after ids, host-wide).
mx_id() { echo "mx-${MX_T##*.}-$1"; }

# --- bundles --------------------------------------------------------------------------------

# mx_jq <bundle> <jq filter> [jq args...]: edit config.json in place.
mx_jq() {
	local b=$1
	shift
	tl_jq_edit "$b/config.json" "$@"
}

# mx_bundle <bundle> <guest> <vmm> [annotation overrides...]: the test kernel as <guest> on
# <vmm>, run as uid 1000 / gid 1000 / extra group 44, args ["mxapp","mxarg"], env
# ["URUNC=urunc","FOO=bar"], a 512 MiB memory limit, no network namespace, no seccomp.
mx_bundle() {
	local b=$1 guest=$2 vmm=$3
	shift 3
	tl_make_bundle "$b" "unikernelType=$guest" "hypervisor=$vmm" "$@"
	mx_jq "$b" '.process.user = {uid: 1000, gid: 1000, additionalGids: [44]}
		| .process.args = ["mxapp", "mxarg"]
		| .process.env = ["URUNC=urunc", "FOO=bar"]
		| .linux.resources = {memory: {limit: 536870912}}
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]'
}

# --- running --------------------------------------------------------------------------------

# mx_create <id> <bundle>: urunc create, output in $MX_T/<id>.out (the VMM's stdout later)
# and $MX_T/<id>.err; the container is deleted in teardown. Returns create's status.
mx_create() {
	local id=$1 b=$2
	echo "$id" >>"$MX_T/ids"
	"${MX_KVM_WRAP[@]}" timeout -k 2 30 "$URUNC" --root "$MX_ROOT" create --bundle "$b" \
		--pid-file "$MX_T/$id.pid" "$id" >"$MX_T/$id.out" 2>"$MX_T/$id.err" </dev/null
}

# mx_wait_ready <id>: poll (bounded, 10 s) for the fake VMM's `fakevmm: ready` line.
mx_wait_ready() {
	local i
	for ((i = 0; i < 500; i++)); do
		grep -qx 'fakevmm: ready' "$MX_T/$1.out" && return 0
		sleep 0.02
	done
	echo "no \`fakevmm: ready\` from $1 within 10 s; its output:"
	cat "$MX_T/$1.out" "$MX_T/$1.err"
	return 1
}

# mx_run_vmm <id> <bundle>: create + start, then wait for the VMM's record.
mx_run_vmm() {
	local id=$1 b=$2
	if ! mx_create "$id" "$b"; then
		echo "create $id failed:"
		cat "$MX_T/$id.err"
		return 1
	fi
	if ! timeout -k 2 30 "$URUNC" --root "$MX_ROOT" start "$id" >"$MX_T/$id.start" 2>&1 </dev/null; then
		echo "start $id failed:"
		cat "$MX_T/$id.start"
		return 1
	fi
	mx_wait_ready "$id"
}

# mx_nokvm <command...>: run it in a private mount namespace where /dev/kvm is /dev/null
# (what a host without usable KVM looks like to urunc's probe); a host without /dev/kvm
# already looks like that.
mx_nokvm() { hide_kvm "$@"; }

# mx_kvm_usable: /dev/kvm opens read-write and answers KVM_GET_API_VERSION (0xAE00) == 12.
mx_kvm_usable() {
	perl -e 'sysopen(my $f, "/dev/kvm", 2) or exit 1;
		my $r = ioctl($f, 0xAE00, 0); exit(defined $r && $r == 12 ? 0 : 1)' 2>/dev/null
}

# mx_fakekvm <command...>: run it with KVM faked, through the test-build seam (urunc built
# with -Dtest_seams=true honours URUNC_TEST_ASSUME_KVM=1: a character device at /dev/kvm
# counts as usable KVM). In a private mount namespace /dev becomes an overlay of itself
# with a /dev/kvm node (the numbers of /dev/null) in the upper layer; /dev/pts and
# /dev/shm are bound back. Nothing of it is visible outside the namespace.
mx_fakekvm() {
	mkdir -p "$MX_T/fakekvm"
	URUNC_TEST_ASSUME_KVM=1 unshare -m --propagation private bash -c '
		set -e
		d=$0
		mount -t tmpfs mxfakekvm "$d"
		mkdir "$d/orig" "$d/upper" "$d/work"
		mount --rbind /dev "$d/orig"
		mount -t overlay mxfakekvm -o "lowerdir=$d/orig,upperdir=$d/upper,workdir=$d/work" /dev
		[ -e /dev/kvm ] || mknod -m 666 /dev/kvm c 1 3
		for m in pts shm mqueue; do
			if mountpoint -q "$d/orig/$m"; then mount --rbind "$d/orig/$m" "/dev/$m"; fi
		done
		exec "$@"' "$MX_T/fakekvm" "$@"
}

# mx_need_kvm: a KVM-only monitor is about to be launched. With usable KVM nothing changes;
# else, when urunc has the test seam, create and run go through mx_fakekvm (MX_KVM_WRAP) so
# the launch is exercised with the fake VMM; else the test skips (a failure in CI).
MX_KVM_WRAP=()
mx_need_kvm() {
	mx_kvm_usable && return 0
	if [ "${URUNC_TEST_SEAMS:-0}" = 1 ]; then
		MX_KVM_WRAP=(mx_fakekvm)
		return 0
	fi
	skip "KVM is not usable on this host and urunc lacks the test seam (-Dtest_seams=true)"
}

# mx_kvm_on: the launch at hand sees usable KVM, real or faked by mx_need_kvm.
mx_kvm_on() { [ ${#MX_KVM_WRAP[@]} -gt 0 ] || mx_kvm_usable; }

# --- the fake VMM's record ------------------------------------------------------------------

# mx_field <id> <key>: the value of the `fakevmm: <key>=` line.
mx_field() {
	sed -n "s/^fakevmm: $2=//p" "$MX_T/$1.out" | head -n 1
}

# mx_argv <id>: sets MX_ARGV to the VMM's argv as recorded.
mx_argv() {
	mapfile -t MX_ARGV < <(sed -n 's/^fakevmm: argv\[[0-9]*\]=//p' "$MX_T/$1.out")
}

# mx_word_after <id> <word>: the recorded argv word after the first <word>.
mx_word_after() {
	local i
	mx_argv "$1"
	for ((i = 0; i + 1 < ${#MX_ARGV[@]}; i++)); do
		if [ "${MX_ARGV[$i]}" = "$2" ]; then
			echo "${MX_ARGV[$((i + 1))]}"
			return 0
		fi
	done
	echo "no \`$2\` in the argv of $1: ${MX_ARGV[*]}" >&2
	return 1
}

# mx_expect_argv <id> <word...>: the recorded argv is exactly these words.
mx_expect_argv() {
	local id=$1
	shift
	mx_argv "$id"
	local want=("$@")
	if [ "${#MX_ARGV[@]}" -ne "${#want[@]}" ] || [ "${MX_ARGV[*]}" != "${want[*]}" ]; then
		echo "argv of $id differs"
		echo "expected (${#want[@]} words):"
		printf '  [%s]\n' "${want[@]}"
		echo "recorded (${#MX_ARGV[@]} words):"
		printf '  [%s]\n' "${MX_ARGV[@]}"
		return 1
	fi
	# Same joined text is not enough: compare word by word (a blank inside a word matters).
	local i
	for i in "${!want[@]}"; do
		if [ "${MX_ARGV[$i]}" != "${want[$i]}" ]; then
			echo "argv[$i] of $id: expected [${want[$i]}], recorded [${MX_ARGV[$i]}]"
			return 1
		fi
	done
}

# mx_expect <id> <key> <value>: one recorded field.
mx_expect() {
	local got
	got=$(mx_field "$1" "$2")
	if [ "$got" != "$3" ]; then
		echo "$1: $2 is [$got], expected [$3]"
		return 1
	fi
}

# The top-level directory of the fake VMM binary (bound at its host path in the root).
mx_fake_top() {
	local p=${FAKEVMM#/}
	echo "${p%%/*}"
}

# mx_expect_root <id> <data:yes|no>: / of the VMM holds only the artifacts, dev, proc, tmp,
# the fake binary's top directory, and with data /usr (QEMU's data directories). The fake
# VMM is static: only the libraries a binary needs are bound, so none at all (no lib, lib64).
mx_expect_root() {
	local want=(.urunc dev proc tmp "$(mx_fake_top)")
	if [ "$2" = yes ]; then
		want+=(usr)
	fi
	local sorted
	sorted=$(printf '%s\n' "${want[@]}" | LC_ALL=C sort -u | paste -sd, -)
	mx_expect "$1" root "$sorted"
}

# mx_nothing_left <id>: no state dir, no cgroup named after the id, no mount under $MX_T.
mx_nothing_left() {
	local id=$1
	if [ -e "$MX_ROOT/$id" ]; then
		echo "state left behind: $(find "$MX_ROOT/$id")"
		return 1
	fi
	local cg
	cg=$(tl_cgroup_find -type d -name "$id" 2>/dev/null)
	if [ -n "$cg" ]; then
		echo "cgroups left behind: $cg"
		return 1
	fi
	if grep -qF " $MX_T/" /proc/self/mountinfo; then
		echo "mounts left behind:"
		grep -F " $MX_T/" /proc/self/mountinfo
		return 1
	fi
}
