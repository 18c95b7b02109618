#!/usr/bin/env bats
# The guest network against the real binary, with the fake VMM standing in for QEMU
# (docs/networking.md): which interface a guest takes in a namespace CNI could have built,
# distinct taps for several guests in one namespace, and what an IPv6-only namespace gives.
# Each test makes its own named network namespace (unique per run); teardown deletes the
# containers (their delete joins the namespace to remove their taps) and then it.

load helpers

setup() {
	it_setup
	command -v ip >/dev/null || skip "\`ip\` is not installed"
	command -v tc >/dev/null || skip "\`tc\` is not installed"
	NS=uit$$-$BATS_TEST_NUMBER
}

teardown() {
	it_teardown
	ip netns delete "$NS" 2>/dev/null || true
}

# veth_iface <name> <peer> <cidr>: an up veth end <name> with <cidr> in $NS, its peer up too.
veth_iface() {
	ip -n "$NS" link add "$1" type veth peer name "$2"
	ip -n "$NS" link set "$2" up
	ip -n "$NS" link set "$1" up
	ip -n "$NS" addr add "$3" dev "$1"
}

# net_bundle <bundle>: a unikraft/qemu bundle joining $NS by path.
net_bundle() {
	mk_bundle "$1"
	cfg "$1" --arg p "/var/run/netns/$NS" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
}

# start_in_ns <id>: create and start <id> from a fresh bundle joining $NS.
start_in_ns() {
	net_bundle "$T/$1"
	create_ct "$1" "$T/$1" || { cat "$T/$1.err"; return 1; }
	ur start "$1" 2>>"$T/$1.err"
	wait_ready "$1"
}

# argv_has <id> <text>: one of the fake VMM's argv words of <id> contains <text>.
argv_has() { grep -q "^fakevmm: argv\[[0-9]*\]=.*$2" "$T/$1.out"; }

# tap_of <id>: the tap urunc recorded for <id>.
tap_of() { jq -r .netTap "$ROOT/$1/state.json"; }

@test "two guests in one namespace with two interfaces: distinct taps, each on its own interface; a third is refused; delete removes only its own" {
	local a b c tap_a tap_b before_b
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	veth_iface eth0 peer0 10.231.0.2/24
	veth_iface eth1 peer1 10.232.0.2/24
	ip -n "$NS" route add default via 10.231.0.1 dev eth0
	ip -n "$NS" route add default via 10.232.0.1 dev eth1 metric 200
	a=$(new_id neta)
	b=$(new_id netb)
	c=$(new_id netc)

	start_in_ns "$a"
	start_in_ns "$b"
	tap_a=$(tap_of "$a")
	tap_b=$(tap_of "$b")
	[[ $tap_a =~ ^tap[0-9]{6}_urunc$ ]] || false
	[[ $tap_b =~ ^tap[0-9]{6}_urunc$ ]] || false
	[ "$tap_a" != "$tap_b" ]
	eq "$(jq -r .netIface "$ROOT/$a/state.json")" eth0
	eq "$(jq -r .netIface "$ROOT/$b/state.json")" eth1
	# Each VMM attaches to its own tap and the guest gets its own interface's address.
	argv_has "$a" "ifname=$tap_a"
	argv_has "$a" "10.231.0.2"
	argv_has "$b" "ifname=$tap_b"
	argv_has "$b" "10.232.0.2"
	tc -n "$NS" filter show dev eth0 ingress | grep -qF "Redirect to device $tap_a"
	tc -n "$NS" filter show dev eth1 ingress | grep -qF "Redirect to device $tap_b"

	# No interface left: start fails naming who holds what, and creates no tap.
	net_bundle "$T/$c"
	create_ct "$c" "$T/$c"
	run ur start "$c"
	[ "$status" -eq 1 ]
	has "$output" "no free container interface (one guest per interface): \`eth0\` carries \`$tap_a\`, \`eth1\` carries \`$tap_b\`"
	eq "$(ip -n "$NS" -o link show type tun | wc -l)" 2
	ur delete --force "$c"
	no_state "$c"

	# Deleting a removes its tap and eth0's mirror; b's tap and mirror stay as they were.
	before_b=$(tc -n "$NS" qdisc show dev eth1 ingress; tc -n "$NS" filter show dev eth1 ingress; ip -n "$NS" -o link show "$tap_b")
	ur delete --force "$a"
	run ip -n "$NS" link show "$tap_a"
	[ "$status" -ne 0 ]
	eq "$(tc -n "$NS" qdisc show dev eth0 ingress)" ""
	eq "$(tc -n "$NS" qdisc show dev eth1 ingress; tc -n "$NS" filter show dev eth1 ingress; ip -n "$NS" -o link show "$tap_b")" "$before_b"
	ur delete --force "$b"
	eq "$(ip -n "$NS" -o link show type tun)" ""
	eq "$(tc -n "$NS" qdisc show ingress)" ""
}

@test "an IPv6-only namespace: no guest network (-nic none), one log line, nothing created" {
	local id
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth0 type veth peer name peer0
	ip -n "$NS" link set peer0 up
	ip -n "$NS" link set eth0 up
	ip -n "$NS" addr add fd00:231::2/64 dev eth0 nodad
	ip -n "$NS" -6 route add default via fd00:231::1 dev eth0
	id=$(new_id net6)
	start_in_ns "$id"
	grep -qx -- "fakevmm: argv\[[0-9]*\]=none" "$T/$id.out"
	refute argv_has "$id" "_urunc"
	eq "$(grep -c "container $id: no usable network interface in its network namespace" "$T/$id.err")" 1
	eq "$(jq -r '.netIface // ""' "$ROOT/$id/state.json")" ""
	eq "$(ip -n "$NS" -o link show type tun)" ""
	eq "$(tc -n "$NS" qdisc show dev eth0 ingress)" ""
	ur delete --force "$id"
	no_state "$id"
}

@test "delete after the network namespace's file was removed (podman removes it first): success, nothing left" {
	local id pid
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	veth_iface eth0 peer0 10.233.0.2/24
	ip -n "$NS" route add default via 10.233.0.1 dev eth0
	id=$(new_id netgone)
	start_in_ns "$id"
	pid=$(pid_of "$id")
	[ -n "$(tap_of "$id")" ]
	ur kill "$id" KILL
	wait_for "gone $pid" 5
	# The namespace's file goes before the runtime's delete: its devices (the tap) go with it.
	ip netns delete "$NS"
	ur delete "$id"
	no_state "$id"
}
