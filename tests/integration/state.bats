#!/usr/bin/env bats
# state, list, ps: runc's JSON shapes, statuses, nothing on stderr on success.

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "state: runc's layout and field order, absolute bundle/rootfs, RFC 3339 created, config's ociVersion, pretty, no trailing newline" {
	local id
	id=$(new_id layout)
	mk_bundle "$T/b"
	cfg "$T/b" '.ociVersion = "1.0.2-dev" | .annotations["org.example.note"] = "kept"'
	create_ct "$id" "$T/b"
	ur state "$id" >"$T/state.json" 2>"$T/state.err"
	[ ! -s "$T/state.err" ]
	eq "$(jq -c keys_unsorted "$T/state.json")" \
		'["ociVersion","id","pid","status","bundle","rootfs","created","annotations","owner"]'
	eq "$(jq -r .ociVersion "$T/state.json")" 1.0.2-dev
	eq "$(jq -r .id "$T/state.json")" "$id"
	eq "$(jq -r .pid "$T/state.json")" "$(pid_of "$id")"
	eq "$(jq -r .bundle "$T/state.json")" "$T/b"
	eq "$(jq -r .rootfs "$T/state.json")" "$T/b/rootfs"
	eq "$(jq -r .owner "$T/state.json")" ""
	eq "$(jq -r '.annotations["org.example.note"]' "$T/state.json")" kept
	eq "$(jq -r '.annotations["com.urunc.unikernel.hypervisor"]' "$T/state.json")" qemu
	is_rfc3339 "$(jq -r .created "$T/state.json")"
	# pretty-printed with 2 spaces, like runc
	eq "$(sed -n 2p "$T/state.json")" '  "ociVersion": "1.0.2-dev",'
	eq "$(tail -c1 "$T/state.json" | od -An -c | tr -d ' ')" "}"
}

@test "state: created -> running -> stopped; pid 0 when stopped; created time does not change" {
	local id pid created
	id=$(new_id life)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	run ur state "$id"
	eq "$(jq -r .status <<<"$output")" created
	eq "$(jq -r .pid <<<"$output")" "$pid"
	created=$(jq -r .created <<<"$output")
	ur start "$id"
	wait_ready "$id"
	run ur state "$id"
	eq "$(jq -r .status <<<"$output")" running
	eq "$(jq -r .pid <<<"$output")" "$pid"
	eq "$(jq -r .created <<<"$output")" "$created"
	ur kill "$id"
	wait_for "gone $pid"
	run ur state "$id"
	[ "$status" -eq 0 ]
	eq "$(jq -r .status <<<"$output")" stopped
	eq "$(jq -r .pid <<<"$output")" 0
}

@test "state: a VMM that exits by itself shows stopped" {
	local id pid
	id=$(new_id exits)
	mk_bundle "$T/b"
	cfg "$T/b" '.process.args = ["fakevmm:exit=3"]'
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	ur start "$id"
	wait_for "gone $pid"
	eq "$(status_of "$id")" stopped
}

@test "state of a missing container: 'container does not exist', rc 1" {
	run ur state "$(new_id missing)"
	[ "$status" -eq 1 ]
	eq "$output" "container does not exist"
}

@test "state and ps write nothing to stderr on success (also without --log)" {
	local id
	id=$(new_id quiet)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	ur state "$id" >/dev/null 2>"$T/e1"
	ur ps --format json "$id" >/dev/null 2>"$T/e2"
	ur start "$id"
	wait_ready "$id"
	ur state "$id" >/dev/null 2>>"$T/e1"
	ur ps --format json "$id" >/dev/null 2>>"$T/e2"
	ur ps "$id" >/dev/null 2>>"$T/e2"
	ur list >/dev/null 2>>"$T/e2"
	ur list --format json >/dev/null 2>>"$T/e2"
	[ ! -s "$T/e1" ] || { cat "$T/e1"; false; }
	[ ! -s "$T/e2" ] || { cat "$T/e2"; false; }
}

@test "ps --format json: [init pid] while created and running, [] when stopped" {
	local id pid
	id=$(new_id ps)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	run ur ps --format json "$id"
	[ "$status" -eq 0 ]
	jq -e --argjson p "$pid" 'type == "array" and index($p) != null' <<<"$output"
	ur start "$id"
	wait_ready "$id"
	run ur ps --format json "$id"
	eq "$output" "[$pid]"
	ur kill "$id" KILL
	wait_for "gone $pid"
	run ur ps --format json "$id"
	[ "$status" -eq 0 ]
	jq -e 'length == 0' <<<"$output"
}

@test "ps (table): the host's ps header and the VMM's line only" {
	local id pid
	id=$(new_id pstab)
	run_ct "$id"
	pid=$(pid_of "$id")
	run ur ps "$id"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *PID* ]]
	eq "${#lines[@]}" 2
	eq "$(awk 'NR == 2 {print $2}' <<<"$output")" "$pid"
	has "${lines[1]}" fakevmm
	# extra ps arguments are passed on
	run ur ps "$id" -- -o pid,comm
	[ "$status" -eq 0 ]
	eq "$(awk 'NR == 2 {print $1, $2}' <<<"$output")" "$pid fakevmm"
}

@test "ps <id> -o pid,comm: ps options after the id need no '--' (runc: flags stop at the id)" {
	local id pid
	id=$(new_id psargs)
	run_ct "$id"
	pid=$(pid_of "$id")
	run ur ps "$id" -o pid,comm
	[ "$status" -eq 0 ]
	eq "$(awk 'NR == 2 {print $1, $2}' <<<"$output")" "$pid fakevmm"
}

@test "ps of a missing container: 'container does not exist'" {
	run ur ps --format json "$(new_id missing)"
	[ "$status" -eq 1 ]
	has "$output" "container does not exist"
}

@test "list: table and --format json with every container and its status; -q ids only" {
	local a b
	a=$(new_id la)
	b=$(new_id lb)
	mk_bundle "$T/$a"
	create_ct "$a" "$T/$a"
	run_ct "$b"
	run ur list
	[ "$status" -eq 0 ]
	eq "$(awk 'NR == 1 {print $1, $2, $3, $4, $5, $6}' <<<"$output")" "ID PID STATUS BUNDLE CREATED OWNER"
	eq "$(awk -v i="$a" '$1 == i {print $2, $3, $4}' <<<"$output")" "$(pid_of "$a") created $T/$a"
	eq "$(awk -v i="$b" '$1 == i {print $2, $3, $4}' <<<"$output")" "$(pid_of "$b") running $T/$b"
	run ur list --format json
	[ "$status" -eq 0 ]
	one_line "$output"
	eq "$(jq -r --arg i "$a" '.[] | select(.id == $i) | .status' <<<"$output")" created
	eq "$(jq -r --arg i "$b" '.[] | select(.id == $i) | "\(.status) \(.pid) \(.bundle)"' <<<"$output")" \
		"running $(pid_of "$b") $T/$b"
	jq -e 'all(.[]; has("ociVersion") and has("id") and has("pid") and has("status") and has("bundle") and has("created"))' <<<"$output"
	run ur list -q
	eq "$(sort <<<"$output" | tr '\n' ' ')" "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')"
}

@test "list with no containers: header only; --format json prints null" {
	mkdir -p "$ROOT"
	run ur list
	[ "$status" -eq 0 ]
	eq "${#lines[@]}" 1
	run ur list --format json
	[ "$status" -eq 0 ]
	eq "$output" null
}

@test "list --format json: owner is the state dir owner's name, as runc prints it" {
	local id
	id=$(new_id owner)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	run ur list --format json
	eq "$(jq -r '.[0].owner' <<<"$output")" root
}
