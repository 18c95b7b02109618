#!/usr/bin/env bats
# Command line: global flags, flag syntaxes, logging, --version, features, refused verbs.

bats_require_minimum_version 1.5.0
load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "--version: first line is 'urunc version X'" {
	run "$URUNC" --version
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^urunc\ version\ [0-9A-Za-z.+~-]+$ ]]
	has "$output" "spec: "
}

@test "--version and features name the commit built from, as runc's do (not the version again)" {
	run "$URUNC" --version
	[ "$status" -eq 0 ]
	# `git describe --always --dirty` of the tree built (`<tag>-<n>-g<hash>` once tagged), or
	# "unknown" outside git
	[[ ${lines[1]} =~ ^commit:\ (([0-9A-Za-z._+~-]+-[0-9]+-g)?[0-9a-f]{7,40}(-dirty)?|unknown)$ ]] ||
		{ echo "$output"; false; }
	local commit=${lines[1]#commit: } hash
	if git -C "$TL_REPO" rev-parse --git-dir >/dev/null 2>&1; then
		[ "$commit" != unknown ]
		# the hash is one of this repository's commits
		hash=${commit%-dirty}
		hash=${hash##*-g}
		git -C "$TL_REPO" cat-file -e "$hash^{commit}"
	fi
	run "$URUNC" features
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["io.urunc.commit"]' <<<"$output")" = "$commit" ]
}

@test "--help and a usage error: help on stdout exit 0; one usage line on stderr exit 1 (no standard streams needed)" {
	run --separate-stderr "$URUNC" --help
	[ "$status" -eq 0 ]
	has "$output" "create"
	[ -z "$stderr" ]
	run --separate-stderr "$URUNC" state --no-such-flag x
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(wc -l <<<"$stderr")" = 1 ]
	has "$stderr" "no-such-flag"
}

@test "the binary is a static PIE and builds no iostreams at start-up (every verb pays both)" {
	command -v readelf >/dev/null && command -v nm >/dev/null || skip "binutils not installed"
	# Position-independent (ELF type DYN: still placed at a random address) ...
	run readelf -h "$URUNC"
	[ "$status" -eq 0 ]
	grep -Eq 'Type:[[:space:]]+DYN' <<<"$output"
	# ... with no dynamic loader and no shared library to load before main.
	run readelf -l "$URUNC"
	[ "$status" -eq 0 ]
	! grep 'INTERP' <<<"$output" || false
	run readelf -d "$URUNC"
	[ "$status" -eq 0 ]
	! grep '(NEEDED)' <<<"$output" || false
	# std::ios_base::Init is linked in only when something constructs the standard streams.
	# (A bare `! cmd` never fails a bats test unless it is the last line: hence `|| false`.)
	run nm "$URUNC"
	[ "$status" -eq 0 ]
	! grep '_ZNSt8ios_base4InitC[12]Ev' <<<"$output" || false
}

@test "the hot code lies together at the front of the binary, as hot-functions.txt orders it; a cold function lies outside" {
	command -v nm >/dev/null || skip "binutils not installed"
	local begin end f a
	# addr <symbol>: its address in the binary, as a number
	addr() { printf '%d' "0x$(nm "$URUNC" | awk -v s="$1" '$3 == s { print $1; exit }')"; }
	begin=$(addr urunc_hot_text_begin)
	end=$(addr urunc_hot_text_end)
	[ "$begin" -lt "$end" ]
	# under 2 MiB of the ~2.8 MiB of code: every command maps it with one call
	[ $((end - begin)) -lt $((2 << 20)) ]
	for f in main _ZN5urunc9container16create_containerERKNS0_7GlobalsERKNS0_13CreateOptionsE \
		_ZN5urunc9container9init_mainERNS0_8InitArgsE __libc_start_main_impl malloc; do
		a=$(addr "$f")
		[ "$a" -gt "$begin" ] && [ "$a" -lt "$end" ] || { echo "$f at $a, not in [$begin, $end)"; false; }
	done
	# A cold function (the seccomp compiler of an hvt guest) stays out of it.
	a=$(addr seccomp_export_bpf)
	[ "$a" -ge "$end" ] || [ "$a" -lt "$begin" ]
}

@test "every verb of a unikernel without block rootfs or view opens no shared object; a view loads libmount" {
	command -v strace >/dev/null || skip "strace not installed"
	local id objs
	id=$(new_id libs)
	mk_bundle "$T/$id"
	# opened <verb args...>: the shared objects (and the loader's cache) the command opens.
	# Not -f: the init create forks would keep strace waiting; it runs the same binary.
	opened() {
		strace -qq -e trace=open,openat -o "$T/st" "$URUNC" --root "$ROOT" "$@" >/dev/null 2>&1 </dev/null || true
		objs=$(grep -v ENOENT "$T/st" | grep -oE '"[^"]*(\.so(\.[0-9]+)*|ld\.so\.cache)"' | sort -u | tr '\n' ' ')
	}
	for verb in "create --bundle $T/$id --pid-file $T/$id.pid $id" "state $id" "start $id" \
		"kill $id KILL" "delete -f $id"; do
		# shellcheck disable=SC2086 # the verb's words
		opened $verb
		[ -z "$objs" ] || { echo "$verb: opened $objs"; false; }
	done
	nothing_left "$id" "$(cat "$T/$id.pid")"
	# The check can fail: a snapshot view is checked against the mount table, read with
	# libmount, which is opened then (the create is refused: the allowed directory is not
	# a mount).
	mkdir -p "$T/view"
	printf '[snapshot_view]\nviews_dir = "%s"\n' "$T" >>"$URUNC_CONFIG"
	jq --arg v "$T/view" '.annotations["com.urunc.unikernel.snapshotView"] = $v' \
		"$T/$id/config.json" >"$T/c.json" && mv "$T/c.json" "$T/$id/config.json"
	opened create --bundle "$T/$id" "$id"
	grep -q 'libmount\.so' <<<"$objs" || { echo "view: opened $objs"; false; }
	no_state "$id" && no_cgroup && no_mounts
}

@test "features: valid JSON with ociVersionMin/Max, the six hooks and linux.namespaces; nothing on stderr" {
	"$URUNC" features >"$T/f.json" 2>"$T/f.err"
	[ ! -s "$T/f.err" ]
	jq -e . "$T/f.json" >/dev/null
	jq -e '.ociVersionMin | test("^1\\.[0-9]+\\.[0-9]+$")' "$T/f.json"
	jq -e '.ociVersionMax | test("^1\\.[0-9]+\\.[0-9]+")' "$T/f.json"
	for h in prestart createRuntime createContainer startContainer poststart poststop; do
		jq -e --arg h "$h" '.hooks | index($h) != null' "$T/f.json" >/dev/null
	done
	for ns in mount network pid ipc uts; do
		jq -e --arg n "$ns" '.linux.namespaces | index($n) != null' "$T/f.json" >/dev/null
	done
	# what urunc refuses must not be claimed
	jq -e '.linux.namespaces | index("user") == null' "$T/f.json"
}

@test "--root / is refused" {
	run "$URUNC" --root / list
	[ "$status" -eq 1 ]
	has "$output" "--root"
	run "$URUNC" --root=/ state x
	[ "$status" -eq 1 ]
}

@test "--root: a relative root is made absolute" {
	local id
	id=$(new_id rel)
	mk_bundle "$T/b"
	cd "$T"
	"$URUNC" --root state-rel create --bundle b "$id" >"$T/out" 2>"$T/err"
	[ -f "$T/state-rel/$id/state.json" ]
	# the same container seen through the absolute path, from another directory
	cd /
	run "$URUNC" --root "$T/state-rel" state "$id"
	[ "$status" -eq 0 ]
	eq "$(jq -r .status <<<"$output")" created
	eq "$(jq -r .bundle <<<"$output")" "$T/b"
	"$URUNC" --root "$T/state-rel" delete "$id"
	[ ! -e "$T/state-rel/$id" ]
}

@test "--log FILE --log-format json: one JSON object per line (level, msg, RFC 3339 time); the error also on stderr; exit 1" {
	local id
	id=$(new_id log)
	run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json state "$id"
	[ "$status" -eq 1 ]
	# stderr (bats merges it into $output) carries the bare message
	eq "$output" "container does not exist"
	json_log_ok "$T/log.json"
	eq "$(jq -r 'select(.level == "error") | .msg' "$T/log.json" | tail -n1)" "container does not exist"
	eq "$(stat -c %a "$T/log.json")" 644
	# appended, not truncated: a second failure adds a line
	run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json kill "$id" 9
	[ "$status" -eq 1 ]
	[ "$(wc -l <"$T/log.json")" -eq 2 ]
	json_log_ok "$T/log.json"
}

@test "--log json: a successful create/start/delete writes only JSON lines there and nothing on stderr" {
	local id
	id=$(new_id logok)
	mk_bundle "$T/b"
	G=(--root "$ROOT" --log "$T/log.json" --log-format json)
	"$URUNC" "${G[@]}" create --bundle "$T/b" --pid-file "$T/$id.pid" "$id" >"$T/$id.out" 2>"$T/$id.err"
	"$URUNC" "${G[@]}" start "$id" 2>>"$T/$id.err"
	wait_ready "$id"
	"$URUNC" "${G[@]}" state "$id" >/dev/null 2>>"$T/$id.err"
	"$URUNC" "${G[@]}" delete --force "$id" 2>>"$T/$id.err"
	[ ! -s "$T/$id.err" ] || { cat "$T/$id.err"; false; }
	# create logs at least which guest rootfs it chose: the log cannot be empty
	json_log_ok "$T/log.json"
	grep -qF "container $id: guest rootfs" "$T/log.json" || { cat "$T/log.json"; false; }
	# the VMM never writes into the log
	refute grep -q fakevmm "$T/log.json"
}

@test "--debug: accepted, and debug records appear only with it" {
	local id
	id=$(new_id dbg)
	mk_bundle "$T/b"
	"$URUNC" --root "$ROOT" --log "$T/nodebug.json" --log-format json create --bundle "$T/b" "$id" >"$T/o" 2>"$T/e"
	"$URUNC" --root "$ROOT" delete "$id"
	# records were written (so the absence of debug ones means something)
	json_log_ok "$T/nodebug.json"
	grep -qF "container $id: guest rootfs" "$T/nodebug.json" || { cat "$T/nodebug.json"; false; }
	refute grep -q '"level":"debug"' "$T/nodebug.json"
	"$URUNC" --debug --root "$ROOT" --log "$T/debug.json" --log-format json create --bundle "$T/b" "$id" >"$T/o" 2>"$T/e"
	"$URUNC" --root "$ROOT" delete "$id"
	json_log_ok "$T/debug.json"
	grep -q '"level":"debug"' "$T/debug.json"
}

@test "--log-format: an unknown format is refused" {
	run "$URUNC" --log-format yaml --root "$ROOT" list
	[ "$status" -eq 1 ]
	has "$output" "yaml"
}

@test "--rootless and --criu are accepted and ignored, --systemd-cgroup accepted" {
	local id
	id=$(new_id glob)
	mk_bundle "$T/b"
	"$URUNC" --rootless=false --criu /usr/sbin/criu --root "$ROOT" create --bundle "$T/b" "$id" >"$T/o" 2>"$T/e"
	run "$URUNC" --rootless true --root "$ROOT" state "$id"
	[ "$status" -eq 0 ]
	eq "$(jq -r .status <<<"$output")" created
	run "$URUNC" --systemd-cgroup --root "$ROOT" delete "$id"
	[ "$status" -eq 0 ]
	no_state "$id"
}

@test "flag syntaxes: --x v, --x=v, -x v, -x=v and short aliases -b, -f, -a, -d" {
	local i id form
	mk_bundle "$T/b"
	i=0
	for form in "--bundle $T/b" "--bundle=$T/b" "-bundle $T/b" "-bundle=$T/b" "-b $T/b"; do
		i=$((i + 1))
		id=$(new_id "syn$i")
		# shellcheck disable=SC2086  # word splitting of $form is the point
		ur create $form -pid-file "$T/$id.pid" "$id" >"$T/$id.out" 2>"$T/$id.err" ||
			{ echo "create with \`$form\` failed: $(cat "$T/$id.err")"; false; }
		eq "$(status_of "$id")" created
		[[ $(pid_of "$id") =~ ^[0-9]+$ ]]
		ur delete "$id"
	done
	# -f as --format (list, ps) and as --force (delete), -a as --all, -d as --detach
	id=$(new_id short)
	ur run -d -b "$T/b" --pid-file="$T/$id.pid" "$id" >"$T/$id.out" 2>"$T/$id.err"
	wait_ready "$id"
	run ur list -f json
	[ "$status" -eq 0 ]
	eq "$(jq -r --arg i "$id" '.[] | select(.id == $i) | .status' <<<"$output")" running
	run ur ps -f json "$id"
	eq "$output" "[$(pid_of "$id")]"
	run ur kill -a "$id" USR1
	[ "$status" -eq 0 ]
	wait_for "grep -q 'fakevmm: signal=10' '$T/$id.out'"
	run ur delete -f "$id"
	[ "$status" -eq 0 ]
	no_state "$id"
	# single-dash long boolean flags
	id=$(new_id dash)
	ur run -detach -bundle "$T/b" "$id" >"$T/$id.out" 2>"$T/$id.err"
	eq "$(status_of "$id")" running
	ur delete -force "$id"
	no_state "$id"
}

@test "unknown command and unknown flag: exit 1" {
	run "$URUNC" --root "$ROOT" frobnicate x
	[ "$status" -eq 1 ]
	run "$URUNC" --root "$ROOT" state --bogus x
	[ "$status" -eq 1 ]
	run "$URUNC" --root "$ROOT" --log "$T/l.json" --log-format json --bogus list
	[ "$status" -eq 1 ]
	# if the log file was opened, it holds only JSON
	if [ -s "$T/l.json" ]; then json_log_ok "$T/l.json"; fi
}

@test "--log json: messages with quotes, backslashes, tabs, escapes, CR/LF and bytes >127 stay one valid JSON line" {
	local id msg
	id=$(new_id esc)
	mk_bundle "$T/b"
	# a failing hook whose stderr ends up in the error message
	cfg "$T/b" '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c",
		"printf \"a\\tb \\\"q\\\" back\\\\\\\\slash \\033[31mred \\001 \\377 end\\r\\nline2\" >&2; exit 1"]}]'
	run "$URUNC" --root "$ROOT" --log "$T/log.json" --log-format json create --bundle "$T/b" "$id"
	[ "$status" -eq 1 ]
	one_line "$output"
	json_log_ok "$T/log.json"
	msg=$(jq -r 'select(.level == "error") | .msg' "$T/log.json")
	has "$msg" $'a\tb "q" back\\slash \e[31mred \x01'
	has "$msg" "line2"
	no_state "$id"
}

@test "lifecycle verbs read without CLI11 (the forms engines use) behave exactly as CLI11 reads them; every other form is left to CLI11" {
	local id line out1 out2 err1 err2 rc1 rc2 n=0
	mk_bundle "$T/b"
	id=$(new_id quick)
	ur run -d -b "$T/b" "$id" >"$T/$id.out" 2>"$T/$id.err"
	wait_ready "$id"
	local lines=(
		"state $id" "state" "state $id extra" "state --bogus $id" "state -- $id" "state -h"
		"--debug state $id" "--debug=true state $id" "-debug state $id" "--root $ROOT state $id"
		"--log-format json state nosuch-$id" "--log-format=text --log-format=json state nosuch-$id"
		"start nosuch-$id" "start $id"
		"kill nosuch-$id KILL" "kill -a nosuch-$id" "kill nosuch-$id -9" "kill --all=true nosuch-$id"
		"kill nosuch-$id KILL extra" "kill $id USR2"
		"delete nosuch-$id" "delete --force nosuch-$id" "delete nosuch-$id --force"
		"delete -f -f nosuch-$id" "delete -force nosuch-$id"
		"create --bundle $T/nosuch nosuch-$id" "create -b $T/nosuch nosuch-$id"
		"create --bundle=$T/nosuch nosuch-$id" "create -bundle $T/nosuch nosuch-$id"
		"create --bundle $T/b --bundle $T/nosuch nosuch-$id" "create --preserve-fds=abc -b $T/nosuch nosuch-$id"
		"create --preserve-fds 2 -b $T/nosuch nosuch-$id" "create --detach=true -b $T/nosuch nosuch-$id"
		"create --bundle= nosuch-$id" "create -b $T/nosuch nosuch-$id other" "create -b $T/nosuch"
		"create -b $T/nosuch --pid-file $T/p --console-socket $T/s --no-pivot --no-new-keyring -d nosuch-$id"
		"create $id -b $T/nosuch" "create -b$T/nosuch nosuch-$id" "create -b=$T/nosuch nosuch-$id"
		"create -b $T/nosuch --pid-file -x nosuch-$id" "create --bundle -b nosuch-$id" "--root -x state $id"
		"run --bundle $T/nosuch --keep --no-subreaper -d nosuch-$id" "run -b $T/nosuch nosuch-$id"
		"create -b $T/b $id" "run -b $T/b -d $id"
	)
	for line in "${lines[@]}"; do
		n=$((n + 1))
		# shellcheck disable=SC2086  # word splitting of $line is the point
		rc1=0; "$URUNC" --root "$ROOT" $line >"$T/q$n.out1" 2>"$T/q$n.err1" </dev/null || rc1=$?
		# shellcheck disable=SC2086
		rc2=0; URUNC_TEST_CLI11_ONLY=1 "$URUNC" --root "$ROOT" $line >"$T/q$n.out2" 2>"$T/q$n.err2" </dev/null || rc2=$?
		out1=$(cat "$T/q$n.out1"); out2=$(cat "$T/q$n.out2")
		err1=$(sed -E 's/time="[^"]*"|"time":"[^"]*"//g' "$T/q$n.err1")
		err2=$(sed -E 's/time="[^"]*"|"time":"[^"]*"//g' "$T/q$n.err2")
		[ "$rc1" = "$rc2" ] && [ "$out1" = "$out2" ] && [ "$err1" = "$err2" ] || {
			printf 'line: %s\nquick: rc %s out %s err %s\nCLI11: rc %s out %s err %s\n' "$line" \
				"$rc1" "$out1" "$err1" "$rc2" "$out2" "$err2"
			false
		}
	done
	# the container saw both USR2s and is still there
	eq "$(grep -c 'fakevmm: signal=12' "$T/$id.out")" 2
	eq "$(status_of "$id")" running
	ur delete -f "$id"
	no_state "$id"
}
