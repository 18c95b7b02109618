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
	# Private /24s per run: 10.<pid / 256 % 256>.<pid % 256>.0/24, and for a second
	# interface the same with the second octet's top bit flipped.
	GN_NET=10.$(($$ / 256 % 256)).$(($$ % 256))
	GN_NET2=10.$((($$ / 256 % 256) ^ 128)).$(($$ % 256))
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

# gn_netns <tag> [noroute|two]: namespaces uio<pid>-<tag>-g / -h joined by a veth: eth0 in g
# (<net>.2/24, default via <net>.1, unless `noroute`), veth0 in h (<net>.1/24). With `two`,
# a second veth too: eth1 in g (<net2>.2/24, a default route via <net2>.1 of metric 200),
# veth1 in h (<net2>.1/24). Sets GN_G, GN_H, GN_MAC (eth0's MAC) and GN_MAC2 (eth1's).
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
	[ "$mode" = two ] || return 0
	ip -n "$GN_H" link add veth1 type veth peer name eth1 netns "$GN_G"
	ip -n "$GN_H" addr add "$GN_NET2.1/24" dev veth1
	ip -n "$GN_H" link set veth1 up
	ip -n "$GN_G" addr add "$GN_NET2.2/24" dev eth1
	ip -n "$GN_G" link set eth1 up
	ip -n "$GN_G" route add default via "$GN_NET2.1" metric 200
	GN_MAC2=$(ip -n "$GN_G" -o link show eth1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ -n "$GN_MAC2" ]
}

# gn_tap <id>: the tap urunc recorded for <id> (state.json's netTap).
gn_tap() { jq -r .netTap "$ME_ROOT/$1/state.json"; }

# gn_taps <netns>: the tun/tap devices of <netns>, one name a line.
gn_taps() { ip -n "$1" -o link show type tun | awk -F': ' '{print $2}'; }

# gn_bundle <bundle> <netns|->: the HTTP-serving Linux guest (tests/lib: tl_net_guest_bundle).
gn_bundle() { tl_net_guest_bundle "$1" "$2" "$GN_KERNEL" "$GN_MODS"; }

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
# own child holds on (a sleep) until the teardown stops the reaper, by its pid. $GN_PRE, if
# set, is shell run in create's private mount namespace right before urunc (a mount that
# only create should see, as a shim's are).
gn_create_start() {
	local id=$1 b=$2 deadline=$((SECONDS + 90))
	echo "$id" >>"$ME_T/ids"
	cat >"$ME_T/$id.sh" <<'SH'
id=$1 b=$2
. "$TL_LIB/testlib.bash"
u() { timeout -k 5 30 "$URUNC" --root "$ME_ROOT" "$@"; }
# create in a mount namespace of its own when $GN_PRE mounts something for the bundle
c() {
	timeout -k 5 30 unshare -m --propagation private sh -c "${GN_PRE:-:}"'
		exec "$@"' \
		gn "$URUNC" --root "$ME_ROOT" "$@"
}
c create --bundle "$b" --pid-file "$ME_T/$id.pid" "$id" >"$ME_T/$id.out" 2>"$ME_T/$id.err" </dev/null &&
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
	local id b page tap
	id=$(me_id net1)
	b=$ME_T/$id
	gn_netns n1
	gn_bundle "$b" "$GN_G"
	gn_create_start "$id" "$b"
	gn_wait_ready "$id"
	# What the guest configured: exactly what eth0 had (the tap carries eth0's traffic).
	grep -qxF "NETINIT: ready ip=$GN_NET.2 mask=255.255.255.0 gw=$GN_NET.1 mac=$GN_MAC" \
		<(sed 's/\r$//' "$ME_T/$id.out")
	tap=$(gn_tap "$id")
	[ "$(gn_taps "$GN_G")" = "$tap" ]
	timeout -k 2 30 ip netns exec "$GN_H" busybox ping -c 1 -W 10 "$GN_NET.2"
	page=$(gn_fetch "$GN_H" "$GN_NET.2")
	[ "$page" = "urunc guest ip=$GN_NET.2 mac=$GN_MAC" ]

	# delete removes the tap and the ingress qdisc on eth0; eth0 stays.
	gn_urunc 30 delete --force "$id"
	[ -z "$(gn_taps "$GN_G")" ]
	run gn_tc_ingress "$GN_G" eth0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	ip -n "$GN_G" link show eth0
	[ ! -e "$ME_ROOT/$id" ]
}

@test "guest network: two guests in one namespace (two interfaces) both answer on their own taps; deleting one leaves the other answering" {
	local id1 id2 b1 b2 tap1 tap2 before
	id1=$(me_id net2a)
	id2=$(me_id net2b)
	b1=$ME_T/$id1
	b2=$ME_T/$id2
	gn_netns n2 two
	gn_bundle "$b1" "$GN_G"
	gn_bundle "$b2" "$GN_G"
	# Both boot at once: one TCG boot's wait for the two.
	gn_create_start "$id1" "$b1"
	gn_create_start "$id2" "$b2"
	gn_wait_ready "$id1"
	gn_wait_ready "$id2"
	tap1=$(gn_tap "$id1")
	tap2=$(gn_tap "$id2")
	[ "$tap1" != "$tap2" ]
	[ "$(gn_taps "$GN_G" | sort)" = "$(printf '%s\n' "$tap1" "$tap2" | sort)" ]
	# Each guest owns one interface: eth0 the first, eth1 (the next free one) the second.
	grep -qxF "NETINIT: ready ip=$GN_NET.2 mask=255.255.255.0 gw=$GN_NET.1 mac=$GN_MAC" \
		<(sed 's/\r$//' "$ME_T/$id1.out")
	grep -qxF "NETINIT: ready ip=$GN_NET2.2 mask=255.255.255.0 gw=$GN_NET2.1 mac=$GN_MAC2" \
		<(sed 's/\r$//' "$ME_T/$id2.out")
	[ "$(gn_fetch "$GN_H" "$GN_NET.2")" = "urunc guest ip=$GN_NET.2 mac=$GN_MAC" ]
	[ "$(gn_fetch "$GN_H" "$GN_NET2.2")" = "urunc guest ip=$GN_NET2.2 mac=$GN_MAC2" ]

	# Deleting the first removes its tap and eth0's mirror only.
	before=$(gn_tc_ingress "$GN_G" eth1)
	[ -n "$before" ]
	gn_urunc 30 delete --force "$id1"
	[ "$(gn_taps "$GN_G")" = "$tap2" ]
	run gn_tc_ingress "$GN_G" eth0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(gn_tc_ingress "$GN_G" eth1)" = "$before" ]
	# The second guest still answers.
	timeout -k 2 30 ip netns exec "$GN_H" busybox ping -c 1 -W 10 "$GN_NET2.2"
	[ "$(gn_fetch "$GN_H" "$GN_NET2.2")" = "urunc guest ip=$GN_NET2.2 mac=$GN_MAC2" ]
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
	[ -z "$(gn_taps "$GN_G")" ]
	run gn_tc_ingress "$GN_G" eth0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	gn_urunc 30 delete --force "$id"
	[ ! -e "$ME_ROOT/$id" ]
}

@test "block volume: a bind mount of a loop-mounted ext4 inside the bundle is a guest disk; the guest reads its file; nothing left after delete" {
	local id b img
	id=$(me_id vol1)
	b=$ME_T/$id
	gn_bundle "$b" -
	img=$ME_T/vol.img
	mkdir "$ME_T/volsrc" "$b/vol"
	echo "hello from volume $id" >"$ME_T/volsrc/urunc-volume.txt"
	mkfs.ext4 -q -F -L "uv$$" -d "$ME_T/volsrc" "$img" 8M
	# The volume is mounted (mount -o loop: an autoclear loop device, as containerd's loop
	# mounts) in create's own mount namespace only, inside the bundle, and bound at /data.
	me_jq "$b" --arg s "$b/vol" \
		'.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "rw"]}]'
	GN_PRE="mount -o loop '$img' '$b/vol' || exit 124;" gn_create_start "$id" "$b"
	gn_wait_line "$id" '^NETINIT: no ip= on the command line'
	# The guest got the volume as its only disk (serial vol<index of the mount>) and read it.
	sed 's/\r$//' "$ME_T/$id.out" | grep -qE "^NETINIT: disk vol[0-9]+: hello from volume $id\$"
	[ "$(sed 's/\r$//' "$ME_T/$id.out" | grep -c '^NETINIT: disk ')" = 1 ]
	# The choice is logged and recorded in state.
	grep -qE 'volume `/data` \(ext4 on /dev/loop[0-9]+\) becomes guest disk vol[0-9]+' "$ME_T/$id.err"
	jq -r .rootfsChoice "$ME_ROOT/$id/state.json" | grep -qE '; volume /data: ext4 on /dev/loop[0-9]+ as disk vol[0-9]+$'
	gn_urunc 30 delete --force "$id"
	[ ! -e "$ME_ROOT/$id" ]
	# Nothing left: the loop device went with QEMU's last reference, no mount of the volume.
	me_wait_no_loop() { [ -z "$(losetup -j "$img")" ]; }
	for _ in $(seq 50); do me_wait_no_loop && break; sleep 0.1; done
	[ -z "$(losetup -j "$img")" ] || { losetup -j "$img"; false; }
	! grep -qF " $b/vol " /proc/self/mountinfo
}
