# shellcheck shell=bash disable=SC2030,SC2031 # HTTP_* are set in the section's subshell and used there only
# Metric 10: time to the first HTTP answer of a Linux guest, `urunc run` against
# QEMU started by hand with the argv urunc builds and the network urunc sets up,
# interleaved: each iteration boots once each way.
#
# The guest is the one of tests/e2e/guest_network.bats: Debian's cloud kernel
# (matrix_linux_kernel.sh), the busybox initrd of net_initrd.sh (loads virtio_net
# from matrix_linux_modules.sh, takes eth0's address from `ip=`, serves a page with
# busybox httpd). Two namespaces made for the section, as CNI would: the
# container's (`…g`: eth0, one end of a veth, with an address and a default route)
# and a peer (`…h`: veth0, the gateway address), from which the page is fetched.
#
# Measured: from the instant the command is launched (`urunc run`, or QEMU) to the
# end of the first GET from the peer that returns the guest's page, polled every
# BENCH_HTTP_POLL_MS (20) with curl. QEMU by hand gets, before its clock starts,
# what urunc creates (docs/networking.md, "What is created") made with ip/tc: a tap
# of the recorded name in the container's namespace, an ingress qdisc on it and on
# eth0, and a u32 match-all filter on each redirecting (mirred egress) to the
# other. So the difference is everything urunc does, its network setup included.
# QEMU by hand runs as root (urunc runs it as the bundle's uid 1000, chrooted).
#
# The peer's ARP is made to probe every 20 ms for a while (retrans_time_ms,
# mcast_solicit on veth0) and its neighbour table is flushed before each launch:
# with the default 1 s between probes, the answer would come up to 1 s after the
# guest can give it, and a stale entry would send the first SYN into a guest that
# is not up yet (then TCP waits 1 s to send it again).
#
# Environment: BENCH_HTTP_RUNS (5 per side), BENCH_HTTP_POLL_MS (20),
# BENCH_HTTP_TIMEOUT (180 s: the bound of one boot, QEMU under `timeout`).
#
# The section runs in a subshell whose EXIT trap deletes its containers, stops
# its QEMUs and removes both namespaces (the veth and any tap go with them),
# whatever failed.

# http_now_ns: the wall clock in ns, without a fork (EPOCHREALTIME is µs).
http_now_ns() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "${t}000"
}

# http_poll <log> <deadline s>: GET the guest's page from the peer every HTTP_POLL
# until it is the expected one; prints the instant (ns) that GET ended, or
# nothing when the deadline passed or the launched process ($HTTP_BG) died.
http_poll() {
	local log=$1 deadline=$((SECONDS + $2)) page
	while [ $SECONDS -lt "$deadline" ]; do
		page=$(nsenter --net="/var/run/netns/$HTTP_H" curl -s --connect-timeout 1 --max-time 3 \
			"http://$HTTP_NET.2/" 2>>"$log") || true
		if [ "$page" = "$HTTP_PAGE" ]; then
			http_now_ns
			return 0
		fi
		kill -0 "$HTTP_BG" 2>/dev/null || return 0
		sleep "$HTTP_POLL"
	done
}

# http_forget_guest: the peer forgets the guest's MAC (each boot starts unresolved).
http_forget_guest() { ip -n "$HTTP_H" neigh flush dev veth0 2>/dev/null || true; }

# http_urunc_one <i>: one `urunc run`; appends "u <i> <ms>" or "u <i> fail" to raw.
http_urunc_one() {
	local i=$1 id=$PREFIX-http$1 t0 t1 o=$HTTP_O
	echo "$id" >>"$o/ids"
	http_forget_guest
	t0=$(http_now_ns)
	(
		unset URUNC_CONFIG
		exec timeout -k 5 "$HTTP_TIMEOUT" "$URUNC" --root "$R_URUNC" run --bundle "$o/b" \
			--pid-file "$o/u$i.pid" "$id"
	) >"$o/u$i.console" 2>"$o/u$i.err" </dev/null &
	HTTP_BG=$!
	t1=$(http_poll "$o/u$i.curl" "$HTTP_TIMEOUT")
	if [ -n "$t1" ]; then
		echo "u $i $(((t1 - t0) / 1000))" >>"$HTTP_RAW"
		# The argv urunc gave the real QEMU, for the comparison with the by-hand one.
		[ -s "$T/raw/http-argv-urunc.txt" ] ||
			tr '\0' '\n' <"/proc/$(cat "$o/u$i.pid")/cmdline" >"$T/raw/http-argv-urunc.txt" 2>/dev/null || true
	else
		echo "u $i fail" >>"$HTTP_RAW"
		cat "$o/u$i.console" "$o/u$i.err" >"$T/raw/http-u$i-failed.log" 2>/dev/null
		log "10: urunc run $i: no page (console and errors: raw/http-u$i-failed.log in the results)"
	fi
	"$URUNC" --root "$R_URUNC" kill "$id" KILL 2>/dev/null || true
	wait "$HTTP_BG" 2>/dev/null || true
	HTTP_BG=
	"$URUNC" --root "$R_URUNC" delete --force "$id" >/dev/null 2>&1 || true
}

# http_net_up / http_net_down: what urunc creates for the guest, by hand.
http_net_up() {
	local g=$HTTP_G tap=$HTTP_TAP
	ip -n "$g" tuntap add dev "$tap" mode tap vnet_hdr &&
		ip -n "$g" link set "$tap" mtu "$HTTP_MTU" up &&
		tc -n "$g" qdisc add dev "$tap" ingress &&
		tc -n "$g" qdisc add dev eth0 ingress &&
		tc -n "$g" filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 \
			action mirred egress redirect dev "$tap" &&
		tc -n "$g" filter add dev "$tap" parent ffff: protocol all u32 match u32 0 0 \
			action mirred egress redirect dev eth0
}
http_net_down() {
	ip -n "$HTTP_G" link del "$HTTP_TAP" 2>/dev/null || true
	tc -n "$HTTP_G" qdisc del dev eth0 ingress 2>/dev/null || true
}

# http_qemu_one <i>: QEMU by hand; appends "q <i> <ms> <net setup ms>" or "q <i> fail".
http_qemu_one() {
	local i=$1 t0 t1 n0 n1 o=$HTTP_O
	http_forget_guest
	n0=$(http_now_ns)
	if ! http_net_up 2>"$o/q$i.err"; then
		echo "q $i fail" >>"$HTTP_RAW"
		log "10: QEMU by hand $i: network setup failed: $(tail -n 1 "$o/q$i.err")"
		http_net_down
		return
	fi
	n1=$(http_now_ns)
	t0=$(http_now_ns)
	nsenter --net="/var/run/netns/$HTTP_G" timeout -k 5 "$HTTP_TIMEOUT" "${HTTP_ARGV[@]}" \
		>"$o/q$i.console" 2>>"$o/q$i.err" </dev/null &
	HTTP_BG=$!
	t1=$(http_poll "$o/q$i.curl" "$HTTP_TIMEOUT")
	if [ -n "$t1" ]; then
		echo "q $i $(((t1 - t0) / 1000)) $(((n1 - n0) / 1000))" >>"$HTTP_RAW"
	else
		echo "q $i fail" >>"$HTTP_RAW"
		cat "$o/q$i.console" "$o/q$i.err" >"$T/raw/http-q$i-failed.log" 2>/dev/null
		log "10: QEMU by hand $i: no page (console and errors: raw/http-q$i-failed.log in the results)"
	fi
	# TERM to timeout, which passes it on to QEMU.
	kill -TERM "$HTTP_BG" 2>/dev/null || true
	wait "$HTTP_BG" 2>/dev/null || true
	HTTP_BG=
	sed -i '/terminating on signal 15 from pid/d' "$o/q$i.err"
	http_net_down
}

http_cleanup() {
	local id
	set +e
	# The containers first (delete --force kills their QEMU, and `urunc run` returns),
	# then what is still launched: TERM to `timeout`, which passes it on (and KILLs
	# 5 s later).
	if [ -f "$HTTP_O/ids" ]; then
		while read -r id; do
			timeout -k 2 30 "$URUNC" --root "$R_URUNC" delete --force "$id" >/dev/null 2>&1
		done <"$HTTP_O/ids"
	fi
	if [ -n "${HTTP_BG:-}" ]; then
		kill -TERM "$HTTP_BG" 2>/dev/null
		wait "$HTTP_BG" 2>/dev/null
	fi
	# The namespaces take the veth pair and any tap left with them.
	[ -z "${HTTP_G:-}" ] || ip netns delete "$HTTP_G" 2>/dev/null
	[ -z "${HTTP_H:-}" ] || ip netns delete "$HTTP_H" 2>/dev/null
}

m_http() {
	local S="10. Time to first HTTP answer (Linux guest, QEMU/TCG)"
	local t
	for t in ip tc nsenter curl cpio; do
		command -v "$t" >/dev/null || {
			result_value "$S" "time to first HTTP answer" "n/a" "" "\`$t\` is not installed"
			return
		}
	done
	(
		HTTP_O=$T/out/http
		HTTP_G="" HTTP_H="" HTTP_BG=""
		trap http_cleanup EXIT
		trap 'exit 130' INT TERM
		m_http_body "$S"
	)
}

m_http_body() {
	local S=$1 runs=${BENCH_HTTP_RUNS:-5} kernel mods o=$HTTP_O b mac i argv=()
	HTTP_TIMEOUT=${BENCH_HTTP_TIMEOUT:-180}
	HTTP_POLL=$(awk -v m="${BENCH_HTTP_POLL_MS:-20}" 'BEGIN { printf "%.3f", m / 1000 }')
	HTTP_RAW=$T/raw/http.txt
	[ "$runs" -ge 1 ] 2>/dev/null || die "bad BENCH_HTTP_RUNS"
	log "10: time to first HTTP answer, urunc run vs QEMU by hand ($runs each)"
	kernel=$("$REPO/tests/e2e/matrix_linux_kernel.sh" 2>/dev/null) || {
		result_value "$S" "time to first HTTP answer" "n/a" "" "no Debian cloud kernel (scripts/setup.sh)"
		return
	}
	mods=$("$REPO/tests/e2e/matrix_linux_modules.sh" 2>/dev/null) || {
		result_value "$S" "time to first HTTP answer" "n/a" "" "no kernel modules (scripts/setup.sh)"
		return
	}
	mkdir -p "$o"
	: >"$HTTP_RAW"

	# The namespaces (as in tests/e2e/guest_network.bats, gn_netns).
	HTTP_NET=10.99.$((RANDOM % 256))
	HTTP_G=$PREFIX-hg
	HTTP_H=$PREFIX-hh
	ip netns add "$HTTP_G"
	ip netns add "$HTTP_H"
	ip -n "$HTTP_H" link add veth0 type veth peer name eth0 netns "$HTTP_G"
	ip -n "$HTTP_H" addr add "$HTTP_NET.1/24" dev veth0
	ip -n "$HTTP_H" link set veth0 up
	ip -n "$HTTP_H" link set lo up
	ip -n "$HTTP_G" addr add "$HTTP_NET.2/24" dev eth0
	ip -n "$HTTP_G" link set eth0 up
	ip -n "$HTTP_G" link set lo up
	ip -n "$HTTP_G" route add default via "$HTTP_NET.1"
	nsenter --net="/var/run/netns/$HTTP_H" sysctl -qw net.ipv4.neigh.veth0.retrans_time_ms=20 \
		net.ipv4.neigh.veth0.mcast_solicit=100
	mac=$(ip -n "$HTTP_G" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	HTTP_MTU=$(ip -n "$HTTP_G" -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	HTTP_PAGE="urunc guest ip=$HTTP_NET.2 mac=$mac"

	# The bundle of tests/e2e/guest_network.bats, joining this namespace.
	b=$o/b
	tl_net_guest_bundle "$b" "$HTTP_G" "$kernel" "$mods"

	# The argv and the tap name, as the fake VMM received them for this bundle in
	# this namespace (URUNC_CONFIG is the bench's fake.toml here).
	echo "$PREFIX-httpa" >>"$o/ids"
	"$STEPRUN" -o "$T/raw/http-argv.err" -- \
		"@out=$o/argv.out" "$URUNC" --root "$R_URUNC" create --bundle "$b" "$PREFIX-httpa" ::: \
		"$URUNC" --root "$R_URUNC" start "$PREFIX-httpa" ::: \
		@wait "$o/argv.out" "fakevmm: ready" ::: \
		@always "$URUNC" --root "$R_URUNC" delete --force "$PREFIX-httpa" >/dev/null
	mapfile -t argv < <(grep '^fakevmm: argv\[' "$o/argv.out" | sed -E 's/^fakevmm: argv\[[0-9]+\]=//')
	HTTP_TAP=$(printf '%s\n' "${argv[@]}" | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -n 1)
	if [ ${#argv[@]} -eq 0 ] || [ -z "$HTTP_TAP" ]; then
		result_value "$S" "QEMU argv" "n/a" "" "no argv with a tap recorded by the fake VMM"
		return
	fi
	argv[0]=$(command -v qemu-system-x86_64)
	for i in "${!argv[@]}"; do
		argv[i]=${argv[i]//\/.urunc\/kernel/$b/rootfs/boot/vmlinuz}
		argv[i]=${argv[i]//\/.urunc\/initrd/$b/rootfs/boot/initrd}
	done
	HTTP_ARGV=("${argv[@]}")
	printf '%q ' "${HTTP_ARGV[@]}" >"$T/raw/http-argv.txt"

	for ((i = 0; i < runs; i++)); do
		http_urunc_one "$i"
		http_qemu_one "$i"
	done

	# Same argv? Only argv[0], the artifact paths (/.urunc/… in urunc's monitor root) and the
	# tap's name (one per container) may differ.
	local same="not read"
	if [ -s "$T/raw/http-argv-urunc.txt" ]; then
		same=$(printf '%s\n' "${HTTP_ARGV[@]:1}" | sed -e "s|$b/rootfs/boot/vmlinuz|/.urunc/kernel|" \
			-e "s|$b/rootfs/boot/initrd|/.urunc/initrd|" -e 's/tap[0-9]*_urunc/TAP/' |
			diff -q - <(tail -n +2 "$T/raw/http-argv-urunc.txt" | sed -e 's/tap[0-9]*_urunc/TAP/') >/dev/null &&
			echo yes || echo NO)
	fi
	local a q fu fq
	fu=$(awk '$1 == "u" && $3 == "fail"' "$HTTP_RAW" | wc -l)
	fq=$(awk '$1 == "q" && $3 == "fail"' "$HTTP_RAW" | wc -l)
	awk '$1 == "u" && $3 != "fail" { print $3 / 1000 }' "$HTTP_RAW" |
		result "$S" "urunc run: launch -> first HTTP answer" ms \
			"failed runs: $fu; its QEMU's argv = the by-hand one (but paths, tap name): $same"
	awk '$1 == "q" && $3 != "fail" { print $3 / 1000 }' "$HTTP_RAW" |
		result "$S" "QEMU by hand, same argv and network: launch -> first HTTP answer" ms \
			"failed runs: $fq; polled every ${BENCH_HTTP_POLL_MS:-20} ms"
	awk '$1 == "q" && $3 != "fail" { print $4 / 1000 }' "$HTTP_RAW" |
		result "$S" "by hand: tap, qdiscs, filters with ip/tc (not in the row above)" ms ""
	# Paired by iteration: the two boots of one iteration ran back to back, so a load
	# that drifts over the section cancels out of their difference.
	awk '$3 != "fail" { v[$1, $2] = $3; i[$2] = 1 }
		END { for (k in i) if ((("u", k) in v) && (("q", k) in v)) print (v["u", k] - v["q", k]) / 1000 }' \
		"$HTTP_RAW" | result "$S" "urunc run - QEMU by hand, same iteration" ms \
		"per iteration (its two boots ran back to back); negative: urunc's was the faster"
	a=$(p50_of "$S" "urunc run: launch -> first HTTP answer")
	q=$(p50_of "$S" "QEMU by hand, same argv and network: launch -> first HTTP answer")
	result_value "$S" "runtime's share of the time to first answer (p50)" \
		"$(awk -v a="$a" -v b="$q" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f%%", 100 * (a - b) / a }')" \
		"" "$(awk -v a="$a" -v b="$q" 'BEGIN { if (a != "-" && b != "-") printf "%.2f ms of %.2f ms", a - b, a }')"
}
