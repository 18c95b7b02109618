# shellcheck shell=bash
# Helpers for the integration suite: the real urunc binary, the fake VMM
# (tests/fixtures/fakevmm) standing in for QEMU, generated bundles in a private temp dir.
#
# Use from a .bats file:
#   load helpers
#   setup() { it_setup; }
#   teardown() { it_teardown; }
#
# Facts the helpers rely on:
# * The fake VMM writes its record (`fakevmm: key=value` lines, then `fakevmm: ready`) to
#   the stdout it inherits from create. create's stdout/stderr therefore always go to
#   files, never to a pipe: a VMM (or parked init) holding a pipe open would keep bats
#   waiting for EOF. Tests poll those files, bounded, with wait_for.
# * Every name is unique per run and test ($$ and $BATS_TEST_NUMBER): ids, cgroup paths,
#   the temp dir. Teardown removes what a test made even when it failed.

# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"

# A test that hangs (e.g. on a pipe some VMM still holds) fails after this long instead of
# stalling the suite; teardown still runs.
: "${BATS_TEST_TIMEOUT:=60}"

# The host's network namespace, as the tests compare namespaces against it.
export IT_HOSTNS_NET
IT_HOSTNS_NET=$(readlink /proc/self/ns/net)

it_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts, cgroups)"
	: "${URUNC_BUILD:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
	[ -f "$URUNC_BUILD/tests/fixtures/paths.env" ] || skip "fixtures not built ($URUNC_BUILD)"
	# shellcheck disable=SC1091
	. "$URUNC_BUILD/tests/fixtures/paths.env"
	URUNC=$URUNC_BUILD/src/cli/urunc
	[ -x "$URUNC" ] || skip "urunc is not built ($URUNC)"
	local t
	for t in jq python3 unshare timeout; do
		command -v "$t" >/dev/null || skip "\`$t\` is not installed"
	done
	T=$(mktemp -d /tmp/urunc-it.XXXXXX)
	ROOT=$T/state
	SFX=$$-$BATS_TEST_NUMBER
	# Parent cgroup of every container of this test (cgroupfs driver).
	CG=urunc-test-$SFX
	tl_monitor_config "$T/config.toml" qemu "$FAKEVMM"
	export URUNC_CONFIG=$T/config.toml
	unset URUNC_RUNC
	export URUNC FAKEVMM TESTKERNEL MAKE_BUNDLE T ROOT SFX CG
}

it_teardown() {
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	local d id pid f
	# delete --force kills the VMM (or the parked init) and removes state and cgroups.
	# (Some tests use a second root under $T: every state.json found there counts.)
	while IFS= read -r f; do
		d=${f%/state.json}
		id=${d##*/}
		timeout -k 2 15 "$URUNC" --root "${d%/*}" delete --force "$id" </dev/null >/dev/null 2>&1 || true
	done < <(find "$T" -maxdepth 4 -name state.json -path '*/state*/*' 2>/dev/null)
	# Whatever urunc failed to kill: only pids we recorded that still run our binaries.
	for f in "$T"/*.pid "$T"/*.extra-pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		[[ $pid =~ ^[0-9]+$ ]] || continue
		case $(readlink "/proc/$pid/exe" 2>/dev/null) in
		"$FAKEVMM" | "$URUNC" | */python3* | */sleep | */unshare) kill -KILL "$pid" 2>/dev/null || true ;;
		esac
	done
	# Cgroups this test named (deepest first).
	local dirs
	dirs=$(tl_cgroup_find -mindepth 2 -type d \
		\( -name "$CG" -o -name "urunc-test-*$SFX*.scope" -o -name "uruncit${SFX//-/x}.slice" \) 2>/dev/null || true)
	for d in $dirs; do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	# Mounts under our temp dir (none expected; a failing test may have left one).
	grep -F " $T/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null || true
	done
	rm -rf "$T"
}

# --- running urunc -----------------------------------------------------------------------

# ur <args...>: urunc with this test's state root.
ur() { "$URUNC" --root "$ROOT" "$@"; }

# new_id <name>: a container id unique to this run and test.
new_id() { echo "it-$1-$SFX"; }

# mk_bundle <dir> [make-bundle.sh overrides...]: a unikraft/qemu bundle whose cgroup is
# /$CG/<basename of dir> (so cleanup finds it).
mk_bundle() {
	local dir=$1
	shift
	tl_make_bundle "$dir" "$@"
	cfg "$dir" --arg p "/$CG/${dir##*/}" '.linux.cgroupsPath = $p'
}

# cfg <bundle> [jq args...] <filter>: edit the bundle's config.json in place.
cfg() {
	local dir=$1
	shift
	tl_jq_edit "$dir/config.json" "$@"
}

# create_ct <id> <bundle> [create flags...]: create with --pid-file $T/<id>.pid; create's
# stdout and stderr (= the VMM's) go to $T/<id>.out and $T/<id>.err. Returns create's status.
create_ct() {
	local id=$1 b=$2
	shift 2
	"$URUNC" --root "$ROOT" create --bundle "$b" --pid-file "$T/$id.pid" "$@" "$id" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null
}

# start_ct <id>: create_ct with a fresh bundle $T/<id>, then start; waits for the record.
run_ct() {
	local id=$1
	mk_bundle "$T/$id"
	create_ct "$id" "$T/$id" || { cat "$T/$id.err"; return 1; }
	ur start "$id" || return 1
	wait_ready "$id"
}

# wait_ready <id>: the fake VMM of <id> has written its whole record.
wait_ready() { wait_for "grep -q '^fakevmm: ready' '$T/$1.out'" 10; }

# wait_for <shell condition> [seconds]: poll every 50 ms until it holds; fails on timeout.
wait_for() {
	local cond=$1 n=$((${2:-5} * 20))
	while ! eval "$cond"; do
		((n-- > 0)) || {
			echo "timed out waiting for: $cond" >&2
			return 1
		}
		sleep 0.05
	done
}

# vmm <id> <key>: a value from the fake VMM's record of <id> (first match).
vmm() { sed -n "s/^fakevmm: $2=//p" "$T/$1.out" | head -n1; }

# pid_of <id>: the pid urunc wrote to the pid file of <id>.
pid_of() { cat "$T/$1.pid"; }

# status_of <id>: the status `state` reports ("" if state fails).
status_of() { ur state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }

# alive <pid>: the process exists and is not a zombie.
alive() {
	[ -e "/proc/$1" ] || return 1
	! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# gone <pid>: the process has exited (gone or a zombie waiting for its reaper).
gone() { ! alive "$1"; }

# --- assertions (print what was expected on failure) -------------------------------------

# has <haystack> <needle>: haystack contains needle (fixed string).
has() {
	[[ $1 == *"$2"* ]] && return 0
	printf 'expected to find `%s` in:\n%s\n' "$2" "$1" >&2
	return 1
}

# eq <actual> <expected>
eq() {
	[ "$1" = "$2" ] && return 0
	printf 'expected `%s`, got `%s`\n' "$2" "$1" >&2
	return 1
}

# no_state <id>: no state dir for <id> under $ROOT.
no_state() {
	[ ! -e "$ROOT/$1" ] && return 0
	echo "state dir $ROOT/$1 still exists: $(ls -la "$ROOT/$1")" >&2
	return 1
}

# no_cgroup [name]: no cgroup dir named <name> (default: this test's $CG) in any hierarchy.
no_cgroup() {
	local left
	left=$(tl_cgroup_find -mindepth 2 -type d -name "${1:-$CG}" 2>/dev/null)
	[ -z "$left" ] && return 0
	echo "cgroup dirs left: $left" >&2
	return 1
}

# cg_dirs_of <id>: cgroup dirs under this test's parent for <id> (cgroupfs driver).
cg_dirs_of() { tl_cgroup_find -mindepth 3 -type d -path "*/$CG/$1" 2>/dev/null; }

# no_mounts: no mount in our mount namespace mentions this test's temp dir (state root).
no_mounts() {
	local m
	m=$(grep -F "$T" /proc/self/mountinfo || true)
	[ -z "$m" ] && return 0
	echo "mounts left: $m" >&2
	return 1
}

# nothing_left <id> <pid>: after delete: no state, no cgroup, no mount, no process.
nothing_left() {
	no_state "$1" && no_cgroup && no_mounts && wait_for "gone $2" 5
}

# one_line <text>: exactly one line.
one_line() {
	[ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ] && return 0
	printf 'expected one line, got:\n%s\n' "$1" >&2
	return 1
}

# is_rfc3339 <string>: an RFC 3339 date-time.
is_rfc3339() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]] && return 0
	echo "not RFC 3339: \`$1\`" >&2
	return 1
}

# json_log_ok <file>: every line is one JSON object with string level, msg and an RFC 3339 time.
json_log_ok() {
	local line t
	[ -s "$1" ] || { echo "log file $1 is empty" >&2; return 1; }
	while IFS= read -r line; do
		[ "$(jq -s 'length' <<<"$line" 2>/dev/null)" = 1 ] &&
			jq -e 'type == "object" and (.level | type == "string") and
			       (.msg | type == "string") and (.time | type == "string")' <<<"$line" >/dev/null ||
			{ echo "bad log line: $line" >&2; return 1; }
		t=$(jq -r .time <<<"$line")
		is_rfc3339 "$t" || return 1
	done <"$1"
}

# refute <command...>: the command fails. (A bare `! cmd` never fails a bats test: errexit
# ignores negated commands.)
refute() {
	if "$@"; then
		echo "expected to fail: $*" >&2
		return 1
	fi
}

# cg_root <controller> (cgroup_paths.bash)
. "$(dirname "${BASH_SOURCE[0]}")/cgroup_paths.bash"

# procs_of <id>: pids of urunc or fake VMM processes whose command line holds <id>.
procs_of() {
	local p exe
	for p in $(pgrep -f -- "$1"); do
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$URUNC" ] || [ "$exe" = "$FAKEVMM" ] || continue
		echo "$p"
	done
	return 0
}
