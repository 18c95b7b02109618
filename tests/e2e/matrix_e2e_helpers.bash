# Helpers for unikraft_guest.bats and linux_guest.bats: real QEMU under TCG.
#
# /dev/kvm exists on the project's machines but QEMU cannot use it: every urunc command that
# probes KVM or starts QEMU runs in a private mount namespace where /dev/kvm is a bind of
# /dev/null (urunc then plans `-accel tcg -cpu max`), always under `timeout`. The state root
# is an ordinary directory under $ME_T, the same in every namespace, so teardown can
# `delete --force` from the host whatever a failed test left running.
#
# Used from bats:   load matrix_e2e_helpers; setup() { me_setup; }; teardown() { me_teardown; }

# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"

# A test that hangs fails after this long (QEMU under TCG is slow; scripts/test.sh sets it
# too); teardown still runs.
: "${BATS_TEST_TIMEOUT:=600}"

me_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts, cgroups)"
	[ -n "${URUNC_BUILD:-}" ] || skip "URUNC_BUILD is not set (run through scripts/test.sh)"
	[ -f "$URUNC_BUILD/tests/fixtures/paths.env" ] || skip "fixtures not built"
	# shellcheck disable=SC1091
	. "$URUNC_BUILD/tests/fixtures/paths.env"
	local t
	for t in jq unshare timeout qemu-system-x86_64; do
		command -v "$t" >/dev/null || skip "\`$t\` is not installed"
	done
	URUNC=$URUNC_BUILD/src/cli/urunc
	[ -x "$URUNC" ] || skip "urunc is not built"
	ME_T=$(mktemp -d /tmp/urunc-me.XXXXXX)
	ME_ROOT=$ME_T/state
	mkdir "$ME_ROOT"
	: >"$ME_T/ids"
	tl_monitor_config "$ME_T/urunc.toml" qemu "$(command -v qemu-system-x86_64)"
	export URUNC_CONFIG=$ME_T/urunc.toml
	export URUNC TESTKERNEL MAKE_BUNDLE ME_T ME_ROOT
}

me_teardown() {
	[ -n "${ME_T:-}" ] && [ -d "$ME_T" ] || return 0
	local id pid
	while read -r id; do
		[ -n "$id" ] || continue
		timeout -k 2 10 "$URUNC" --root "$ME_ROOT" delete --force "$id" >/dev/null 2>&1 || true
		# A QEMU that outlived a killed `urunc run`: only if the pid still runs QEMU.
		pid=$(cat "$ME_T/$id.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ]; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done <"$ME_T/ids"
	rm -rf --one-file-system "$ME_T"
}

# me_id <name>: a container id unique per run (cgroups are named after ids, host-wide).
me_id() { echo "me-${ME_T##*.}-$1"; }

# me_jq <bundle> <jq filter> [jq args...]: edit config.json in place.
me_jq() {
	local b=$1
	shift
	tl_jq_edit "$b/config.json" "$@"
}

# me_run <id> <bundle> [seconds]: `urunc run` (foreground: it returns the VMM's exit status
# and deletes the container), bounded. Output in $ME_T/<id>.out (the guest's
# serial console) and $ME_T/<id>.err (urunc's log); sets ME_STATUS and ME_SECONDS.
me_run() {
	local id=$1 b=$2 secs=${3:-60} start
	echo "$id" >>"$ME_T/ids"
	start=$(date +%s%N)
	ME_STATUS=0
	timeout -k 5 "$secs" "$URUNC" --root "$ME_ROOT" run --bundle "$b" --pid-file "$ME_T/$id.pid" "$id" \
		>"$ME_T/$id.out" 2>"$ME_T/$id.err" </dev/null || ME_STATUS=$?
	local ms=$((($(date +%s%N) - start) / 1000000))
	ME_SECONDS=$((ms / 1000)).$(printf '%03d' $((ms % 1000)))
	# Serial consoles end lines with CR LF. A Linux guest's kernel may print (asynchronous
	# printk, "[    2.299077] tsc: ...") in the middle of a line its init is writing: the
	# message and the rest of that line go, the init's text before it stays.
	sed -i -E -e 's/\r$//' -e 's/^(.+)\[ *[0-9]+\.[0-9]+\] .*$/\1/' "$ME_T/$id.out"
	# For the test log (shown by bats when the test fails).
	echo "urunc run $id: status $ME_STATUS after ${ME_SECONDS}s"
	echo "--- guest console:"
	cat "$ME_T/$id.out"
	echo "--- urunc:"
	cat "$ME_T/$id.err"
}

# me_has_line <id> <exact line>: the guest printed exactly this line.
me_has_line() {
	grep -qxF -- "$2" "$ME_T/$1.out" || {
		echo "the guest did not print: [$2]"
		return 1
	}
}

# me_lines <id> <prefix>: the guest's lines starting with <prefix>, prefix removed.
me_lines() {
	sed -n "s/^$2//p" "$ME_T/$1.out"
}

# me_nothing_left <id>: `run` deleted the container: no state, no cgroup, no pid alive.
me_nothing_left() {
	local id=$1 pid
	if [ -e "$ME_ROOT/$id" ]; then
		echo "state left behind: $(find "$ME_ROOT/$id")"
		return 1
	fi
	local cg
	cg=$(tl_cgroup_find -type d -name "$id" 2>/dev/null)
	if [ -n "$cg" ]; then
		echo "cgroups left behind: $cg"
		return 1
	fi
	pid=$(cat "$ME_T/$id.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ]; then
		echo "QEMU (pid $pid) still runs"
		return 1
	fi
}
