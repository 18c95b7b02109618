#!/usr/bin/env bats
# Container ids: runc's charset [A-Za-z0-9_+.-]; anything else is refused before any side
# effect.

load helpers

setup() { it_setup; }
teardown() { it_teardown; }

@test "ids with every allowed character work through the whole lifecycle" {
	local id pid
	id="Az09_+.-$SFX"
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	pid=$(pid_of "$id")
	eq "$(jq -r .id <<<"$(ur state "$id")")" "$id"
	ur start "$id"
	wait_ready "$id"
	ur kill "$id" TERM
	wait_for "gone $pid"
	ur delete "$id"
	nothing_left "$id" "$pid"
}

@test "bad ids are refused by create before any side effect: the root is not even made" {
	local bad
	mk_bundle "$T/b"
	for bad in "a/b" "../x" ".." "." "a b" "" "a:b" "x;y" 'a$b' "é" "a
b"; do
		run "$URUNC" --root "$ROOT" create --bundle "$T/b" --pid-file "$T/bad.pid" "$bad"
		[ "$status" -eq 1 ] || { echo "id \`$bad\` accepted"; false; }
		has "$output" "invalid container id"
		[ ! -e "$ROOT" ] || { echo "id \`$bad\`: root created: $(ls -la "$ROOT")"; false; }
		[ ! -e "$T/bad.pid" ]
		[ ! -e "$T/x" ]
	done
	no_cgroup
}

@test "bad ids are refused by every verb, and an existing root is left untouched" {
	local bad verb id before
	id=$(new_id good)
	mk_bundle "$T/b"
	create_ct "$id" "$T/b"
	# a directory next to the root that "../x"-style ids would reach
	mkdir -p "$T/victim"
	before=$(find "$T" -path "$T/b" -prune -o -print | sort)
	for bad in "a/b" "../victim" ".." "a b" ""; do
		for verb in start state "kill" "kill --all" delete "delete --force" "ps --format json" ps; do
			# shellcheck disable=SC2086
			run "$URUNC" --root "$ROOT" $verb "$bad"
			[ "$status" -eq 1 ] || { echo "$verb \`$bad\` rc $status: $output"; false; }
			has "$output" "invalid container id"
		done
	done
	eq "$(find "$T" -path "$T/b" -prune -o -print | sort)" "$before"
	[ -d "$T/victim" ]
	eq "$(status_of "$id")" created
}

@test "an over-long id is refused" {
	local long
	long=$(printf 'a%.0s' $(seq 1 2000))
	mk_bundle "$T/b"
	run "$URUNC" --root "$ROOT" create --bundle "$T/b" "$long"
	[ "$status" -eq 1 ]
	has "$output" "invalid container id"
	one_line "$output"
	# refused before anything was made: no state, no cgroup, no VMM
	[ ! -e "$ROOT/$long" ]
	no_cgroup
	# the same id one character long is fine: it is the length that was refused
	create_ct a "$T/b" || { cat "$T/a.err"; false; }
	ur delete --force a
}
