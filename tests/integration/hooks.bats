#!/usr/bin/env bats
# OCI hooks: order, the state each stage sees on stdin, the namespace it runs in, timeouts,
# failures.

load helpers

setup() {
	it_setup
	# The hook used everywhere: appends "<stage> <status> <net ns> <pid> <id>" to $T/hooks.log.
	cat >"$T/hook.sh" <<EOF
#!/bin/sh
state=\$(cat)
printf '%s %s %s %s %s\n' "\$1" "\$(printf '%s' "\$state" | jq -r .status)" \
	"\$(readlink /proc/self/ns/net)" "\$(printf '%s' "\$state" | jq -r .pid)" \
	"\$(printf '%s' "\$state" | jq -r .id)" >>"$T/hooks.log"
printf '%s\n' "\$state" >"$T/state.\$1.json"
EOF
	chmod +x "$T/hook.sh"
}
teardown() { it_teardown; }

STAGES=(prestart createRuntime createContainer startContainer poststart poststop)

# hooks_bundle <dir>: a bundle with the logging hook at every stage.
hooks_bundle() {
	local s filter=
	mk_bundle "$1"
	for s in "${STAGES[@]}"; do
		filter+=" | .hooks.$s = [{\"path\": \"$T/hook.sh\", \"args\": [\"hook.sh\", \"$s\"]}]"
	done
	cfg "$1" ". ${filter}"
}

# failing_hook <bundle> <stage> [timeout]: the stage's only hook prints and exits 3 (or
# sleeps past the timeout, its host pid in $T/slept: /proc is the host's, even in the
# container's pid namespace).
failing_hook() {
	local b=$1 stage=$2 timeout=${3:-}
	if [ -n "$timeout" ]; then
		cfg "$b" --arg s "$stage" --argjson t "$timeout" --arg m "$T/slept" \
			'.hooks[$s] = [{"path": "/bin/sh", "args": ["sh", "-c", "read -r pid rest </proc/self/stat; echo $pid > \($m); exec sleep 60"], "timeout": $t}]'
	else
		cfg "$b" --arg s "$stage" \
			'.hooks[$s] = [{"path": "/bin/sh", "args": ["sh", "-c", "echo out-\($s); echo err-\($s) >&2; exit 3"]}]'
	fi
}

# field <stage> <n>: field n of the stage's line in hooks.log.
field() { awk -v s="$1" -v n="$2" '$1 == s {print $n}' "$T/hooks.log"; }

@test "hooks: every stage runs, in order, with runc's statuses, in the right namespaces" {
	local id pid ctnet
	id=$(new_id all)
	hooks_bundle "$T/b"
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	pid=$(pid_of "$id")
	ctnet=$(readlink "/proc/$pid/ns/net")
	[ "$ctnet" != "$IT_HOSTNS_NET" ]
	eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "prestart createRuntime createContainer "
	ur start "$id"
	wait_ready "$id"
	eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "prestart createRuntime createContainer startContainer poststart "
	ur kill "$id" KILL
	wait_for "gone $pid"
	ur delete "$id"
	eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "prestart createRuntime createContainer startContainer poststart poststop "
	# statuses, as runc passes them
	eq "$(field prestart 2)" creating
	eq "$(field createRuntime 2)" creating
	eq "$(field createContainer 2)" creating
	eq "$(field startContainer 2)" created
	eq "$(field poststart 2)" running
	eq "$(field poststop 2)" stopped
	# namespaces: createContainer and startContainer in the container's, the rest in the host's
	eq "$(field prestart 3)" "$IT_HOSTNS_NET"
	eq "$(field createRuntime 3)" "$IT_HOSTNS_NET"
	eq "$(field createContainer 3)" "$ctnet"
	eq "$(field startContainer 3)" "$ctnet"
	eq "$(field poststart 3)" "$IT_HOSTNS_NET"
	eq "$(field poststop 3)" "$IT_HOSTNS_NET"
	# the runtime-namespace hooks get the host pid of the init, all get the id
	eq "$(field prestart 4)" "$pid"
	eq "$(field createRuntime 4)" "$pid"
	eq "$(field poststart 4)" "$pid"
	for s in "${STAGES[@]}"; do
		eq "$(field "$s" 5)" "$id"
	done
}

@test "hooks: the state on stdin has ociVersion, id, status, pid, bundle and annotations" {
	local id s
	id=$(new_id stdin)
	hooks_bundle "$T/b"
	create_ct "$id" "$T/b"
	ur start "$id"
	wait_ready "$id"
	for s in prestart createRuntime createContainer startContainer poststart; do
		jq -e --arg id "$id" --arg b "$T/b" '.ociVersion == "1.0.2" and .id == $id and .bundle == $b
			and (.pid | type == "number") and (.status | type == "string")
			and .annotations["com.urunc.unikernel.hypervisor"] == "qemu"' "$T/state.$s.json" >/dev/null ||
			{ echo "$s: $(cat "$T/state.$s.json")"; false; }
	done
}

@test "createContainer hook: state.pid is the init's pid (runc: its pid in the container), not -1" {
	local id
	id=$(new_id ccpid)
	hooks_bundle "$T/b"
	create_ct "$id" "$T/b"
	[ "$(field createContainer 4)" -gt 0 ]
}

@test "hooks: args are the full argv (argv[0] included), env replaces the environment" {
	local id
	id=$(new_id argv)
	mk_bundle "$T/b"
	cat >"$T/argv.sh" <<EOF
#!/bin/sh
echo "\$0|\$1|\$2|\$(tr '\\0' ' ' </proc/\$\$/environ)" >"$T/argv.out"
EOF
	chmod +x "$T/argv.sh"
	cfg "$T/b" --arg p "$T/argv.sh" \
		'.hooks.prestart = [{"path": $p, "args": ["my-argv0", "one", "two words"], "env": ["FOO=bar"]}]'
	create_ct "$id" "$T/b"
	# a shell script's $0 is its path; the two arguments arrive unsplit; FOO is all the env
	eq "$(cut -d'|' -f2- "$T/argv.out")" "one|two words|FOO=bar "
}

@test "hooks: one stage runs its hooks in array order and stops at the first failure" {
	local id
	id=$(new_id order)
	mk_bundle "$T/b"
	cfg "$T/b" --arg h "$T/hook.sh" '.hooks.prestart = [
		{"path": $h, "args": ["hook.sh", "first"]},
		{"path": "/bin/false"},
		{"path": $h, "args": ["hook.sh", "third"]}]'
	run create_ct "$id" "$T/b"
	[ "$status" -eq 1 ]
	eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "first "
	has "$(cat "$T/$id.err")" "error running prestart hook #1: /bin/false"
	no_state "$id"
}

@test "failing prestart / createRuntime / createContainer hook: create fails with the hook's message; nothing left" {
	local id stage pid
	for stage in prestart createRuntime createContainer; do
		id=$(new_id "f$stage")
		mk_bundle "$T/$id"
		failing_hook "$T/$id" "$stage"
		run create_ct "$id" "$T/$id"
		[ "$status" -eq 1 ] || { echo "$stage: create succeeded"; false; }
		has "$(cat "$T/$id.err")" "error running $stage hook #0: /bin/sh: exit status 3"
		has "$(cat "$T/$id.err")" "out-$stage"
		has "$(cat "$T/$id.err")" "err-$stage"
		no_state "$id"
		no_cgroup
		[ ! -e "$T/$id.pid" ]
	done
}

@test "hook timeout: the hook is killed and create fails with 'hook ran past specified timeout'" {
	local id stage start
	for stage in createRuntime createContainer; do
		id=$(new_id "t$stage")
		rm -f "$T/slept"
		mk_bundle "$T/$id"
		failing_hook "$T/$id" "$stage" 1
		start=$SECONDS
		run create_ct "$id" "$T/$id"
		[ "$status" -eq 1 ]
		# the timeout was honoured (1 s), not the hook's 60 s
		[ $((SECONDS - start)) -lt 15 ]
		has "$(cat "$T/$id.err")" "hook ran past specified timeout of 1.0s"
		[ -s "$T/slept" ]
		wait_for "gone $(cat "$T/slept")" 5
		no_state "$id"
		no_cgroup
	done
}

@test "failing startContainer hook: start fails with its message; the VMM never runs" {
	local id
	id=$(new_id fstart)
	mk_bundle "$T/b"
	failing_hook "$T/b" startContainer
	create_ct "$id" "$T/b"
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "error running startContainer hook #0"
	has "$output" "err-startContainer"
	# as runc: the container is stopped, it cannot be started again
	wait_for "[ \"\$(status_of '$id')\" = stopped ]" 5
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "cannot start a container that has stopped"
	refute grep -q fakevmm "$T/$id.out"
	ur delete --force "$id"
	no_state "$id"
}

@test "failing poststart hook: start fails and the container is killed" {
	local id pid
	id=$(new_id fpoststart)
	mk_bundle "$T/b"
	failing_hook "$T/b" poststart
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	run ur start "$id"
	[ "$status" -eq 1 ]
	has "$output" "error running poststart hook #0"
	wait_for "gone $pid"
	eq "$(status_of "$id")" stopped
	ur delete "$id"
	nothing_left "$id" "$pid"
}

@test "failing poststop hook: only logged; delete still rc 0 and removes everything" {
	local id pid
	id=$(new_id fpoststop)
	mk_bundle "$T/b"
	failing_hook "$T/b" poststop
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	run ur delete "$id"
	[ "$status" -eq 0 ]
	has "$output" "poststop"
	nothing_left "$id" "$pid"
}

@test "poststop runs once, after the state dir and cgroup are gone" {
	local id
	id=$(new_id late)
	mk_bundle "$T/b"
	cat >"$T/late.sh" <<EOF
#!/bin/sh
[ -e "$ROOT/$id" ] && echo state-left >>"$T/late.log"
[ -n "\$(tl_cgroup_find -mindepth 2 -name "$CG" -exec find {} -mindepth 1 -type d \;)" ] && echo cgroup-left >>"$T/late.log"
echo ran >>"$T/late.log"
EOF
	chmod +x "$T/late.sh"
	cfg "$T/b" --arg p "$T/late.sh" '.hooks.poststop = [{"path": $p}]'
	create_ct "$id" "$T/b"
	ur delete --force "$id"
	eq "$(cat "$T/late.log")" ran
}

# query_hook_bundle <dir> <id>: createRuntime, startContainer and poststart hooks that run
# `urunc state` and `urunc ps --format json` on the container itself, into $T/q.<stage>.
query_hook_bundle() {
	cat >"$T/query.sh" <<EOF
#!/bin/sh
"$URUNC" --root "$ROOT" state "\$1" >"$T/q.\$2.state" 2>&1 || echo "rc=\$?" >>"$T/q.\$2.state"
"$URUNC" --root "$ROOT" ps --format json "\$1" >"$T/q.\$2.ps" 2>&1
EOF
	chmod +x "$T/query.sh"
	mk_bundle "$1"
	cfg "$1" --arg h "$T/query.sh" --arg id "$2" '.hooks = {
		"createRuntime": [{"path": $h, "args": ["q", $id, "createRuntime"], "timeout": 10}],
		"startContainer": [{"path": $h, "args": ["q", $id, "startContainer"], "timeout": 10}],
		"poststart": [{"path": $h, "args": ["q", $id, "poststart"], "timeout": 10}]}'
}

@test "hooks may query the container: state from a hook does not deadlock and shows creating / created / running" {
	local id
	id=$(new_id query)
	query_hook_bundle "$T/b" "$id"
	create_ct "$id" "$T/b" || { cat "$T/$id.err"; false; }
	ur start "$id"
	wait_ready "$id"
	eq "$(jq -r .status "$T/q.createRuntime.state")" creating
	eq "$(jq -r .status "$T/q.startContainer.state")" created
	eq "$(jq -r .status "$T/q.poststart.state")" running
	eq "$(jq -r .pid "$T/q.poststart.state")" "$(pid_of "$id")"
	eq "$(cat "$T/q.poststart.ps")" "[$(pid_of "$id")]"
}

@test "state and ps during create (from a createRuntime hook) report the init's pid, not -1" {
	local id
	id=$(new_id querypid)
	query_hook_bundle "$T/b" "$id"
	create_ct "$id" "$T/b"
	eq "$(jq -r .pid "$T/q.createRuntime.state")" "$(pid_of "$id")"
	eq "$(cat "$T/q.createRuntime.ps")" "[$(pid_of "$id")]"
}

@test "run in the foreground: the hooks run in order with runc's statuses, the poststop after the VMM exited; without startContainer hooks too (the VMM then does not wait for a start step)" {
	local id rc s
	for s in all no-startContainer; do
		id=$(new_id "run-$s")
		rm -f "$T/hooks.log"
		hooks_bundle "$T/b-$s"
		cfg "$T/b-$s" '.process.args = ["fakevmm:exit=0"]'
		[ "$s" = all ] || cfg "$T/b-$s" 'del(.hooks.startContainer)'
		rc=0
		timeout 30 "$URUNC" --root "$ROOT" run --bundle "$T/b-$s" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?
		eq "$rc" 0
		if [ "$s" = all ]; then
			eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "prestart createRuntime createContainer startContainer poststart poststop "
			eq "$(field startContainer 2)" created
		else
			eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "prestart createRuntime createContainer poststart poststop "
		fi
		eq "$(field poststart 2)" running
		eq "$(field poststop 2)" stopped
		eq "$(field poststop 3)" "$IT_HOSTNS_NET"
		no_state "$id"
	done
}

@test "run without prestart or createRuntime hooks (create makes the new network namespace after the clone): the container's hooks run in that namespace, poststart and poststop in the host's, and the VMM's namespace is a new one" {
	local id rc s ctnet
	for s in run create; do
		id=$(new_id "early-$s")
		rm -f "$T/hooks.log"
		hooks_bundle "$T/b-$s"
		cfg "$T/b-$s" 'del(.hooks.prestart) | del(.hooks.createRuntime)'
		if [ "$s" = run ]; then
			cfg "$T/b-$s" '.process.args = ["fakevmm:exit=0"]'
			rc=0
			timeout 30 "$URUNC" --root "$ROOT" run --bundle "$T/b-$s" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?
			eq "$rc" 0
			eq "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ')" "createContainer startContainer poststart poststop "
			no_state "$id"
		else
			create_ct "$id" "$T/b-$s" || { cat "$T/$id.err"; false; }
			ur start "$id"
			wait_ready "$id"
			# the VMM's namespace: new, with only its loopback
			eq "$(vmm "$id" ns.net)" "$(field createContainer 3)"
			eq "$(nsenter --net="/proc/$(pid_of "$id")/ns/net" ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo "
			ur delete --force "$id"
		fi
		ctnet=$(field createContainer 3)
		[ -n "$ctnet" ] && [ "$ctnet" != "$IT_HOSTNS_NET" ]
		eq "$(field startContainer 3)" "$ctnet"
		eq "$(field poststart 3)" "$IT_HOSTNS_NET"
		[ "$s" = create ] || eq "$(field poststop 3)" "$IT_HOSTNS_NET"
	done
}
