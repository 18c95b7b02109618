#!/usr/bin/env bats
# Bundles that are not unikernels (no urunc annotations, no urunc.json) and containers whose
# state is not ours go to runc, exec'd with our exact argv.

load helpers

setup() {
	it_setup
	# A fake runc: one JSON record per call (argv, open fds, cwd) in $FAKE_RUNC_LOG, then
	# exit $FAKE_RUNC_RC. Python, so that listing fds opens none (F_GETFD probes).
	cat >"$T/fake-runc" <<'EOF'
#!/usr/bin/env python3
import fcntl, json, os, sys
fds = []
for fd in range(1024):
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
        fds.append(fd)
    except OSError:
        pass
rec = {"argv": sys.argv, "fds": fds, "cwd": os.getcwd()}
with open(os.environ["FAKE_RUNC_LOG"], "a") as f:
    f.write(json.dumps(rec) + "\n")
sys.exit(int(os.environ.get("FAKE_RUNC_RC", "0")))
EOF
	chmod +x "$T/fake-runc"
	export URUNC_RUNC=$T/fake-runc FAKE_RUNC_LOG=$T/runc.log
	ID=$(new_id deleg)
	# a plain OCI bundle: none of urunc's annotations
	mk_bundle "$T/plain" unikernelType hypervisor binary unikernelVersion
	jq -e '.annotations | length == 0' "$T/plain/config.json" >/dev/null
}
teardown() { it_teardown; }

# runc_argv [n]: the argv (without argv[0]) of the n-th call (default: last), one per line.
runc_argv() { jq -r '.argv[1:][]' <<<"$(sed -n "${1:-\$}p" "$T/runc.log")"; }
runc_calls() { if [ -f "$T/runc.log" ]; then wc -l <"$T/runc.log"; else echo 0; fi; }

# same_argv <args...>: urunc <args...> exits with the fake's status, and the fake got
# exactly <args...> as argv[1:].
same_argv() {
	local n rc=0
	n=$(runc_calls)
	"$URUNC" "$@" </dev/null >"$T/deleg.out" 2>"$T/deleg.err" || rc=$?
	eq "$rc" "${FAKE_RUNC_RC:-0}" || { cat "$T/deleg.err"; return 1; }
	eq "$(runc_calls)" $((n + 1)) || return 1
	eq "$(runc_argv)" "$(printf '%s\n' "$@")"
}

@test "create of a plain bundle: runc gets the same argv (globals and all create flags), its exit status, no leaked fds" {
	same_argv --root "$ROOT" --log "$T/log.json" --log-format json --systemd-cgroup \
		create --bundle "$T/plain" --pid-file "$T/$ID.pid" --no-pivot --no-new-keyring "$ID"
	# no fd of urunc's own (log file, state dir, config) leaks: runc sees what a direct
	# call from here sees (bats keeps some fds of its own open)
	local via direct
	via=$(jq -c .fds <<<"$(tail -n1 "$T/runc.log")")
	"$T/fake-runc" </dev/null >"$T/deleg.out" 2>"$T/deleg.err"
	direct=$(jq -c .fds <<<"$(tail -n1 "$T/runc.log")")
	eq "$via" "$direct"
	eq "$(jq -r .argv[0] <<<"$(sed -n 1p "$T/runc.log")")" "$T/fake-runc"
	# urunc itself made nothing for it
	[ ! -e "$ROOT/$ID" ]
	no_cgroup
	# the runtime's status is passed through
	FAKE_RUNC_RC=7 same_argv --root "$ROOT" create --bundle "$T/plain" "$ID"
}

@test "create with the bundle from the cwd and a console socket: same argv" {
	cd "$T/plain"
	same_argv --root "$ROOT" create --pid-file "$T/$ID.pid" --console-socket "$T/none.sock" "$ID"
	eq "$(jq -r .cwd <<<"$(tail -n1 "$T/runc.log")")" "$T/plain"
}

@test "run of a plain bundle goes to runc" {
	same_argv --root "$ROOT" run -d --bundle "$T/plain" "$ID"
	same_argv --root "$ROOT" run --bundle "$T/plain" --pid-file "$T/$ID.pid" "$ID"
}

@test "state/start/kill/delete/ps of a container whose state.json is not ours: handed to runc with the same argv" {
	mkdir -p "$ROOT/$ID"
	# what runc leaves in its state dir (not urunc's format)
	echo '{"id":"'"$ID"'","init_process_pid":1234,"config":{}}' >"$ROOT/$ID/state.json"
	same_argv --root "$ROOT" state "$ID"
	same_argv --root "$ROOT" start "$ID"
	same_argv --root "$ROOT" kill "$ID" 15
	same_argv --root "$ROOT" kill --all "$ID" 9
	same_argv --root "$ROOT" ps --format json "$ID"
	same_argv --root "$ROOT" --log "$T/log.json" --log-format json delete "$ID"
	same_argv --root "$ROOT" delete --force "$ID"
	# urunc did not touch runc's state
	[ -f "$ROOT/$ID/state.json" ]
	jq -e .init_process_pid "$ROOT/$ID/state.json" >/dev/null
	rm -rf "${ROOT:?}/$ID"
}

# runc_state: a state dir for $ID as runc leaves it (not urunc's format).
runc_state() {
	mkdir -p "$ROOT/$ID"
	echo '{"id":"'"$ID"'","init_process_pid":1234,"config":{}}' >"$ROOT/$ID/state.json"
}

@test "exec of runc's container: the same argv with every runc exec flag, and unknown ones" {
	runc_state
	same_argv --root "$ROOT" exec --process /tmp/runc-process1 --console-socket "$T/s.sock" --detach --pid-file "$T/e.pid" "$ID"
	same_argv --root "$ROOT" exec -t -e A=1 --env B=2 -u 1:1 --cwd /tmp --cap CAP_KILL -g 5 --no-new-privs \
		--ignore-paused --preserve-fds 1 --cgroup cpu:x --process-label l --apparmor p "$ID" sh -c "echo 'a b'"
	same_argv --root "$ROOT" --log "$T/log.json" --log-format json --debug exec --some-future-flag "$ID" true
	jq -e .init_process_pid "$ROOT/$ID/state.json" >/dev/null
}

@test "pause/resume/update/events/checkpoint of runc's container: the same argv, runc's status" {
	runc_state
	same_argv --root "$ROOT" pause "$ID"
	FAKE_RUNC_RC=1 same_argv --root "$ROOT" resume "$ID"
	same_argv --root "$ROOT" update --resources - "$ID"
	same_argv --root "$ROOT" update --resources=- "$ID"
	same_argv --root "$ROOT" update --memory 1g --memory-swap -1 --cpu-rt-runtime 5 --blkio-weight 10 \
		--l3-cache-schema L3:0=f --mem-bw-schema MB:0=50 --kernel-memory 5 "$ID"
	same_argv --root "$ROOT" events --stats --interval=1s "$ID"
	same_argv --root "$ROOT" checkpoint --image-path "$T/img" --work-path "$T/w" --leave-running -tcp-established "$ID"
	jq -e .init_process_pid "$ROOT/$ID/state.json" >/dev/null
}

@test "no container of that id, restore of a plain bundle, spec without --unikernel: runc's" {
	# no container of that id at all: runc answers (its root semantics, its message)
	same_argv --root "$ROOT" pause "$(new_id none)"
	FAKE_RUNC_RC=3 same_argv --root "$ROOT" exec "$(new_id none)" sh
	# restore of a plain bundle, and spec without --unikernel
	same_argv --root "$ROOT" restore --detach --pid-file "$T/r.pid" -no-subreaper --bundle "$T/plain" "$ID"
	same_argv spec --bundle "$T/plain" --rootless
}

@test "a runc container and a urunc container side by side in one root" {
	local uid
	uid=$(new_id ours)
	mkdir -p "$ROOT/$ID"
	echo '{"id":"'"$ID"'"}' >"$ROOT/$ID/state.json"
	mk_bundle "$T/$uid"
	create_ct "$uid" "$T/$uid"
	eq "$(runc_calls)" 0
	# ours is listed, runc's is runc's business
	run ur list --format json
	eq "$(jq -r '.[].id' <<<"$output")" "$uid"
	eq "$(status_of "$uid")" created
	eq "$(runc_calls)" 0
	ur delete "$uid"
	eq "$(runc_calls)" 0
	rm -rf "${ROOT:?}/$ID"
}

@test "a bundle without annotations but with urunc.json in its rootfs is ours, not runc's" {
	b64() { printf '%s' "$1" | base64 -w0; }
	jq -n --arg t "$(b64 unikraft)" --arg h "$(b64 qemu)" --arg b "$(b64 /unikernel/kernel)" \
		'{"com.urunc.unikernel.unikernelType": $t, "com.urunc.unikernel.hypervisor": $h,
		  "com.urunc.unikernel.binary": $b}' >"$T/plain/rootfs/urunc.json"
	create_ct "$ID" "$T/plain" || { cat "$T/$ID.err"; false; }
	eq "$(runc_calls)" 0
	ur start "$ID"
	wait_ready "$ID"
	eq "$(runc_calls)" 0
	eq "$(jq -r '.annotations["com.urunc.unikernel.hypervisor"]' <<<"$(ur state "$ID")")" qemu
}

@test "runc's path from the host config ([runtime] runc_path) when URUNC_RUNC is unset" {
	unset URUNC_RUNC
	printf '[runtime]\nrunc_path = "%s"\n' "$T/fake-runc" >>"$URUNC_CONFIG"
	same_argv --root "$ROOT" create --bundle "$T/plain" "$ID"
}

@test "runc missing: a clear error, exit 1" {
	export URUNC_RUNC=$T/no-such-runc
	run "$URUNC" --root "$ROOT" create --bundle "$T/plain" "$ID"
	[ "$status" -eq 1 ]
	has "$output" "$T/no-such-runc"
	[ ! -e "$ROOT/$ID" ]
}
