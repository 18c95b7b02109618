#!/usr/bin/env bats
# The guest network end to end, with a real Linux guest on QEMU/TCG: Debian's cloud kernel
# (matrix_linux_kernel.sh) and a busybox initrd (net_initrd.sh) that loads virtio_net from
# the kernel package's modules (matrix_linux_modules.sh), configures eth0 from the `ip=`
# word urunc gives it and serves HTTP with busybox httpd.
#
# Each test builds its own pair of network namespaces, the way CNI would: the container's
# (`…g`: eth0, one end of a veth, with an address and a default route) and a peer (`…h`:
# the other end, the gateway address), and a bundle whose spec joins the container's by
# path. urunc takes eth0's address and MAC for the guest and mirrors eth0 <-> its tap; the
# peer namespace then reaches the guest at eth0's address. Names and the /24 are per run.
# Teardown deletes the containers (which removes their taps from the namespace) and then
# the namespaces (and the veths with them), whatever failed.

load matrix_e2e_helpers

setup() {
	me_setup
	local t
	for t in ip tc cpio busybox curl; do
		command -v "$t" >/dev/null || skip "\`$t\` is not installed"
	done
	GN_KERNEL=$("$BATS_TEST_DIRNAME/matrix_linux_kernel.sh" 2>"$ME_T/kernel.err") ||
		skip "no Debian cloud kernel: $(tail -n 1 "$ME_T/kernel.err")"
	GN_MODS=$("$BATS_TEST_DIRNAME/matrix_linux_modules.sh" 2>"$ME_T/mods.err") ||
		skip "no kernel modules: $(tail -n 1 "$ME_T/mods.err")"
	: >"$ME_T/netns"
	: >"$ME_T/reapers"
	# A private /24 per run: 10.<pid / 256 % 256>.<pid % 256>.0/24.
	GN_NET=10.$(($$ / 256 % 256)).$(($$ % 256))
}

teardown() {
	local ns
	me_teardown_keep_netns
	while read -r ns; do
		[ -n "$ns" ] || continue
		ip netns delete "$ns" 2>/dev/null || true
	done <"$GN_NETNS_LIST"
	rm -f "$GN_NETNS_LIST"
}

# The containers go first (their delete joins the namespace by path to remove the tap),
# then the namespaces: keep the list outside $ME_T, which me_teardown removes.
me_teardown_keep_netns() {
	local pid
	GN_NETNS_LIST=$(mktemp /tmp/urunc-gn-netns.XXXXXX)
	cat "$ME_T/netns" >"$GN_NETNS_LIST" 2>/dev/null || true
	# The containers first (delete --force kills QEMU; its reaper collects it), then the
	# reapers (TERM ends their sleeping child, then them).
	me_teardown_containers
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null || true
	done <"$ME_T/reapers"
	me_teardown
}

me_teardown_containers() {
	local id
	while read -r id; do
		[ -n "$id" ] || continue
		timeout -k 2 20 "$URUNC" --root "$ME_ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done <"$ME_T/ids"
}

# gn_netns <tag> [noroute]: namespaces uio<pid>-<tag>-g / -h joined by a veth: eth0 in g
# (<net>.2/24, default via <net>.1, unless `noroute`), veth0 in h (<net>.1/24). Sets GN_G,
# GN_H and GN_MAC (eth0's MAC).
gn_netns() {
	local tag=$1 mode=${2:-}
	GN_G=uio$$-$tag-g
	GN_H=uio$$-$tag-h
	echo "$GN_G" >>"$ME_T/netns"
	echo "$GN_H" >>"$ME_T/netns"
	ip netns add "$GN_G"
	ip netns add "$GN_H"
	# Created inside h with its peer sent straight into g: no name in the host's namespace.
	ip -n "$GN_H" link add veth0 type veth peer name eth0 netns "$GN_G"
	ip -n "$GN_H" addr add "$GN_NET.1/24" dev veth0
	ip -n "$GN_H" link set veth0 up
	ip -n "$GN_H" link set lo up
	ip -n "$GN_G" addr add "$GN_NET.2/24" dev eth0
	ip -n "$GN_G" link set eth0 up
	ip -n "$GN_G" link set lo up
	[ "$mode" = noroute ] || ip -n "$GN_G" route add default via "$GN_NET.1"
	GN_MAC=$(ip -n "$GN_G" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ -n "$GN_MAC" ]
}

# gn_bundle <bundle> <netns>: the Linux guest with the network initrd as its rootfs, QEMU
# as uid/gid 1000 (the tap must be opened by that user), the spec joining <netns>.
gn_bundle() {
	local b=$1 ns=$2
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=linux hypervisor=qemu \
		binary=/boot/vmlinuz initrd=/boot/initrd unikernelVersion >/dev/null
	rm -r "$b/rootfs/unikernel"
	mkdir "$b/rootfs/boot"
	cp "$GN_KERNEL" "$b/rootfs/boot/vmlinuz"
	"$BATS_TEST_DIRNAME/net_initrd.sh" "$b/rootfs/boot/initrd" "$GN_MODS"
	me_jq "$b" --arg ns "/var/run/netns/$ns" '.process.args = ["/init"]
		| .process.env = []
		| .process.user = {uid: 1000, gid: 1000}
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"},
			{type: "network", path: $ns}]'
}

# gn_urunc <seconds> <args...>: urunc with KVM hidden when the host has it (QEMU cannot use
# it here; urunc then plans TCG), bounded.
gn_urunc() {
	local secs=$1
	shift
	timeout -k 5 "$secs" "$URUNC" --root "$ME_ROOT" "$@"
}

# gn_create_start <id> <bundle>: create (the guest console goes to $ME_T/<id>.out, urunc's
# log to $ME_T/<id>.err) and start, under reap.pl as a shim would: `create` orphans the
# container's init (later QEMU) and a subreaper, not PID 1, must collect it. The reaper's
# own child holds on (a sleep) until the teardown stops the reaper, by its pid.
gn_create_start() {
	local id=$1 b=$2 deadline=$((SECONDS + 90))
	echo "$id" >>"$ME_T/ids"
	cat >"$ME_T/$id.sh" <<'SH'
id=$1 b=$2
. "$TL_LIB/testlib.bash"
u() { timeout -k 5 30 "$URUNC" --root "$ME_ROOT" "$@"; }
u create --bundle "$b" --pid-file "$ME_T/$id.pid" "$id" >"$ME_T/$id.out" 2>"$ME_T/$id.err" </dev/null &&
	u start "$id" 2>>"$ME_T/$id.err"
echo $? >"$ME_T/$id.started"
exec sleep 900
SH
	perl "$BATS_TEST_DIRNAME/reap.pl" "$ME_T/reaped" bash "$ME_T/$id.sh" "$id" "$b" \
		</dev/null >/dev/null 2>&1 &
	echo $! >>"$ME_T/reapers"
	until [ -s "$ME_T/$id.started" ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "create/start $id did not finish: $(cat "$ME_T/$id.err")"
			return 1
		fi
		sleep 0.2
	done
	[ "$(cat "$ME_T/$id.started")" = 0 ] || {
		echo "create/start $id failed: $(cat "$ME_T/$id.err")"
		return 1
	}
}

# gn_wait_line <id> <ERE> [seconds]: until the guest's console has a line matching <ERE>
# (a TCG boot takes tens of seconds on a loaded host).
gn_wait_line() {
	local id=$1 re=$2 deadline=$((SECONDS + ${3:-300}))
	until sed 's/\r$//' "$ME_T/$id.out" 2>/dev/null | grep -qE "$re"; do
		if [ $SECONDS -ge $deadline ]; then
			echo "guest $id: no line matching [$re] in time; console:"
			sed 's/\r$//' "$ME_T/$id.out"
			echo "--- urunc:"
			cat "$ME_T/$id.err"
			return 1
		fi
		sleep 0.5
	done
	sed 's/\r$//' "$ME_T/$id.out" | grep '^NETINIT:'
}

gn_wait_ready() { gn_wait_line "$1" '^NETINIT: ready'; }

# gn_tc_ingress <netns> <dev>: the ingress qdisc and filters on <dev>, empty if none.
gn_tc_ingress() {
	tc -n "$1" qdisc show dev "$2" ingress
	tc -n "$1" filter show dev "$2" ingress
}

# gn_fetch <netns> <ip>: the page the guest serves, fetched from <netns>. curl, not busybox
# wget: Debian's static busybox wget crashes in its name lookup, even for an address.
gn_fetch() {
	timeout -k 2 30 ip netns exec "$1" curl -sS --max-time 20 "http://$2/"
}

@test "guest network: the guest takes eth0's address, gateway and MAC; the peer pings it and fetches its page" {
	local id b page
	id=$(me_id net1)
	b=$ME_T/$id
	gn_netns n1
	gn_bundle "$b" "$GN_G"
	gn_create_start "$id" "$b"
	gn_wait_ready "$id"
	# What the guest configured: exactly what eth0 had (the tap carries eth0's traffic).
	grep -qxF "NETINIT: ready ip=$GN_NET.2 mask=255.255.255.0 gw=$GN_NET.1 mac=$GN_MAC" \
		<(sed 's/\r$//' "$ME_T/$id.out")
	ip -n "$GN_G" link show tap0_urunc
	timeout -k 2 30 ip netns exec "$GN_H" busybox ping -c 1 -W 10 "$GN_NET.2"
	page=$(gn_fetch "$GN_H" "$GN_NET.2")
	[ "$page" = "urunc guest ip=$GN_NET.2 mac=$GN_MAC" ]

	# delete removes the tap and the ingress qdisc on eth0; eth0 stays.
	gn_urunc 30 delete --force "$id"
	run ip -n "$GN_G" link show tap0_urunc
	[ "$status" -ne 0 ]
	run gn_tc_ingress "$GN_G" eth0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	ip -n "$GN_G" link show eth0
	[ ! -e "$ME_ROOT/$id" ]
}

@test "guest network: a second guest in the same namespace is refused; deleting it leaves the first one's tap and mirror, the first still answers" {
	local id1 id2 b1 b2 page before
	id1=$(me_id net2a)
	id2=$(me_id net2b)
	b1=$ME_T/$id1
	b2=$ME_T/$id2
	gn_netns n2
	gn_bundle "$b1" "$GN_G"
	gn_bundle "$b2" "$GN_G"
	gn_create_start "$id1" "$b1"
	gn_wait_ready "$id1"
	before=$(gn_tc_ingress "$GN_G" eth0)
	[ -n "$before" ]

	# The guest owns eth0's address and MAC: a second one cannot share them (one guest
	# per network namespace, docs/networking.md). start must say so and start nothing.
	run gn_create_start "$id2" "$b2"
	[ "$status" -ne 0 ]
	grep -qF 'one guest per network namespace, `tap0_urunc` already exists' "$ME_T/$id2.err"
	run gn_urunc 30 delete --force "$id2"
	[ "$status" -eq 0 ]
	[ ! -e "$ME_ROOT/$id2" ]

	# The first guest's tap and mirror are untouched and it still answers.
	ip -n "$GN_G" link show tap0_urunc
	[ "$(gn_tc_ingress "$GN_G" eth0)" = "$before" ]
	timeout -k 2 30 ip netns exec "$GN_H" busybox ping -c 1 -W 10 "$GN_NET.2"
	page=$(gn_fetch "$GN_H" "$GN_NET.2")
	[ "$page" = "urunc guest ip=$GN_NET.2 mac=$GN_MAC" ]
}

@test "guest network: a namespace without a usable interface: the guest boots without network, urunc logs it once" {
	local id b
	id=$(me_id net3)
	b=$ME_T/$id
	# eth0 is up with an address but there is no default route: not a container interface.
	gn_netns n3 noroute
	gn_bundle "$b" "$GN_G"
	gn_create_start "$id" "$b"
	gn_wait_line "$id" '^NETINIT: no ip= on the command line'
	# No NIC at all in the guest (QEMU got `-nic none`): only the loopback.
	sed 's/\r$//' "$ME_T/$id.out" | grep -qxF 'NETINIT: no ip= on the command line, links=lo '
	[ "$(grep -c 'no usable network interface in its network namespace' "$ME_T/$id.err")" = 1 ]
	grep -F "container $id: no usable network interface in its network namespace" "$ME_T/$id.err"
	# Nothing was created in the namespace.
	run ip -n "$GN_G" link show tap0_urunc
	[ "$status" -ne 0 ]
	run gn_tc_ingress "$GN_G" eth0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	gn_urunc 30 delete --force "$id"
	[ ! -e "$ME_ROOT/$id" ]
}
