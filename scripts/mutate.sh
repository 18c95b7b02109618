#!/usr/bin/env bash
# Break a feature on purpose and check that the test named for it fails.
#
#   scripts/mutate.sh            every mutation below
#   scripts/mutate.sh NAME...    only these (scripts/mutate.sh -l lists them)
#
# Each mutation is one sed on one line of product code, with the suite and the test that
# must catch it. The work tree (tracked and new files as they are now) is copied to
# build-mutate/tree and built there into its own build dir, never touching build/ or the
# sources: per mutation the line is changed (exactly one line, or the mutation is reported
# broken), rebuilt, the named test runs and must fail, then the line is put back. Before
# that the same test must pass on the unchanged copy (MUTATE_BASELINE=0 skips this), so a
# test that fails anyway is not counted as a catch. Exit status: 0 when every mutation was
# caught, 1 otherwise; a table "mutation -> result" is printed at the end.
# Root, and whatever the named suites need (scripts/setup.sh), as for scripts/test.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# name | suite: unit, or the bats file | the test: a Catch2 filter, or a bats -f regex |
# file | sed script (one line changes).
mutations() {
	cat <<'EOF'
kvm-msr-write|unit|kvm probe: PVM-like*|src/vmm/kvm.cpp|s/        if (set != 1)$/        if (set < 0)/
cgroup2-swap|unit|cgroup2 (fake tree): memory.max*|src/linux/cgroup.cpp|s/r.memory_swap < 0 ? "max" : num(r.memory_swap - r.memory_limit)/r.memory_swap < 0 ? "max" : num(r.memory_swap)/
block-lock|unit|block unmount: a urunc init between*|src/rootfs/block_unmount.cpp|s/^    MountCopyLock no_init_copying(MountCopyLock::exclusive);/    (void)0;/
cli-version|tests/integration/cli.bats|--version: first line|src/container/features.cpp|s/"urunc version "/"urunc "/
create-pidfile|tests/integration/create.bats|create: state created, pid file holds digits only|src/container/create.cpp|s/write_file_atomic(path, std::to_string(pid), 0644);/write_file_atomic(path, std::to_string(pid) + "\\n", 0644);/
delete-cgroup|tests/integration/delete.bats|delete of a created container succeeds|src/container/delete.cpp|s/std::string e = remove_cgroup(cgroup_from_json(st.cgroup));/std::string e;/
kill-default|tests/integration/kill.bats|kill ID: SIGTERM by default|src/oci/signals.cpp|s/^        return SIGTERM;/        return SIGKILL;/
state-pid0|tests/integration/state.bats|state: created -> running -> stopped|src/oci/state.cpp|s/w.Int(st == Status::stopped ? 0 : s.pid);/w.Int(s.pid);/
proc-sys-ro|tests/integration/confinement.bats|proc: masked paths read nothing|src/rootfs/monitor_root.cpp|s/^        readonly.push_back("\/proc\/sys");/        (void)0;/
memory-reserve|tests/integration/resources.bats|512 MiB limit on qemu|src/oci/guest_resources.cpp|s/d.guest_mib = limit_mib - p.overhead_mib;/d.guest_mib = limit_mib;/
update-pids|tests/integration/verbs.bats|unikernel: update changes the cgroup|src/linux/cgroup_update.cpp|s/\*u.pids_limit > 0 ? std::to_string(\*u.pids_limit) : "max"/std::string("max")/
hook-failure|tests/integration/hooks.bats|hooks: one stage runs its hooks in array order|src/linux/hooks.cpp|s/^        if (!failure.empty())$/        if (false)/
ctr-freeze|tests/e2e/containerd.bats|ctr task pause/resume of a unikernel|src/linux/cgroup_freezer.cpp|s/const char \*want = frozen ? "FROZEN" : "THAWED";/const char *want = "THAWED";/
docker-stop|tests/e2e/docker.bats|docker run -d and docker stop|src/container/kill.cpp|s/if (::kill(st.pid, sig) < 0) {/if (::kill(st.pid, SIGKILL) < 0) {/
net-none-logged|tests/e2e/guest_network.bats|a namespace without a usable interface|src/container/start.cpp|s/log::info("container {}: no usable network interface/log::debug("container {}: no usable network interface/
shim-unreachable|tests/e2e/view_shim.bats|containerd unreachable|src/shim/main.cpp|s/log::warn("snapshot view for container {}: {}; urunc copies/log::debug("snapshot view for container {}: {}; urunc copies/
init-copy-lock|tests/e2e/block_view.bats|parallel creates with block rootfs|src/container/init.cpp|s/^        rootfs::MountCopyLock copying(rootfs::MountCopyLock::shared);/        struct { void release() {} } copying;/
EOF
}

if [ "${1:-}" = -l ]; then
	mutations | awk -F'|' '{ printf "%-18s %-36s %s\n", $1, $2, $3 }'
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "mutate.sh: run as root (the suites need it)" >&2; exit 1; }

work=${MUTATE_DIR:-$top/build-mutate}
tree=$work/tree
build=$tree/build
mkdir -p "$work"
rm -rf "$tree"
mkdir -p "$tree"
# Tracked and new files as they are in the work tree (not what is committed).
(cd "$top" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf -) |
	tar -C "$tree" -xf -

# shellcheck disable=SC1091
[ -f /root/.ccache-env ] && . /root/.ccache-env
echo "== building the copy in $build"
# The flags of build/ (scripts/build.sh), so that ccache serves most of the first build.
meson setup "$build" "$tree" -Dwerror=true -Dtest_seams=true >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
build_copy() { nice -n 10 ninja -C "$build" -j2 >"$work/build.log" 2>&1; }
build_copy || { tail -30 "$work/build.log"; exit 1; }

# run_test <suite> <test>: 0 when the test ran (at least one) and passed, 1 when it ran and
# failed, 2 when nothing matched.
run_test() {
	local suite=$1 test=$2 log=$work/test.log rc=0
	if [ "$suite" = unit ]; then
		timeout -k 5 300 "$build/tests/unit/unit_tests" "$test" >"$log" 2>&1 </dev/null || rc=$?
		grep -q "No test cases matched" "$log" && return 2
		[ "$rc" -eq 0 ] && return 0
		return 1
	fi
	(cd "$tree" && URUNC_BUILD=$build BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-600} \
		timeout -k 10 1800 bats --tap -f "$test" "$suite") >"$log" 2>&1 </dev/null || rc=$?
	grep -qE '^1\.\.[1-9]' "$log" || return 2
	grep -q '^not ok' "$log" && return 1
	[ "$rc" -eq 0 ] && return 0
	return 1
}

want=("$@")
declare -a table
missed=0
# The list comes on fd 3: a suite's daemons and tools must not read it from stdin.
while IFS='|' read -r name suite test file script <&3; do
	[ -n "$name" ] || continue
	if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
		continue
	fi
	echo "== $name: $file ($suite: $test)"
	if [ "${MUTATE_BASELINE:-1}" = 1 ]; then
		rc=0
		run_test "$suite" "$test" || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "   baseline: the test does not pass unchanged (rc $rc)"
			tail -20 "$work/test.log"
			table+=("$name|$suite|$test|BROKEN: fails without the mutation")
			missed=$((missed + 1))
			continue
		fi
	fi
	cp "$tree/$file" "$work/orig"
	sed -i "$script" "$tree/$file"
	changed=$(diff "$work/orig" "$tree/$file" | grep -c '^>' || true)
	if [ "$changed" -ne 1 ]; then
		cp "$work/orig" "$tree/$file"
		echo "   the sed changed $changed lines, not 1: the mutation no longer matches the code"
		table+=("$name|$suite|$test|BROKEN: sed changed $changed lines")
		missed=$((missed + 1))
		continue
	fi
	diff "$work/orig" "$tree/$file" | sed 's/^/   /' || true
	if ! build_copy; then
		tail -10 "$work/build.log"
		result="BROKEN: the mutant does not build"
		missed=$((missed + 1))
	else
		rc=0
		run_test "$suite" "$test" || rc=$?
		case $rc in
		1) result="caught" ;;
		0) result="MISSED: the test passed"; missed=$((missed + 1)); tail -20 "$work/test.log" ;;
		*) result="BROKEN: no test matched"; missed=$((missed + 1)) ;;
		esac
		grep -m3 '^not ok\|FAILED\|failed' "$work/test.log" | sed 's/^/   /' || true
	fi
	echo "   -> $result"
	table+=("$name|$suite|$test|$result")
	cp "$work/orig" "$tree/$file"
done 3< <(mutations)
build_copy || true

echo
echo "== mutation -> result"
printf '%s\n' "${table[@]}" | awk -F'|' '{ printf "%-18s %-36s %-48s %s\n", $1, $2, substr($3, 1, 48), $4 }'
[ "${MUTATE_KEEP:-0}" = 1 ] || rm -rf "$tree"
[ "$missed" -eq 0 ]
