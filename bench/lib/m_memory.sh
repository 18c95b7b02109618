# shellcheck shell=bash
# Metric 9: the VMM's own memory beside the guest's RAM, which the host config's
# `[monitors.<vmm>] memory_overhead_mib` must cover (docs/configuration.md).
#
# A Linux guest (Debian's cloud kernel, busybox initrd with the /memfill init of
# tests/e2e/memfill_initrd.sh) runs through `urunc run` without a memory limit
# and with `default_memory_mib` = the guest size, so it gets exactly that RAM and
# its cgroup no limit. It fills all but BENCH_MEM_LEAVE MiB (48) of the RAM its
# kernel sees, so nearly every guest page is touched; once it says so, the VMM's
# peak RSS (VmHWM) and the cgroup's peak charge are read, then it is killed.
#
#   overhead = peak RSS - guest RAM
#
# is a lower bound of what the VMM needs besides the guest (a guest page never
# touched is not in the RSS); "peak RSS - guest RAM filled" is the upper bound
# (the guest kernel's own pages count as VMM there). Only QEMU under TCG runs
# here (no usable KVM); the other VMMs' reserves are estimates (docs).
#
# Environment: BENCH_MEM_SIZES ("256 512" MiB), BENCH_MEM_RUNS (3 per size),
# BENCH_MEM_LEAVE (48 MiB left unfilled in the guest; 16 makes a 256 MiB guest OOM itself).

# mem_cgroup_peak <cgroup path>: the cgroup's peak charge in bytes, or "-".
mem_cgroup_peak() {
	local f
	for f in "/sys/fs/cgroup/memory$1/memory.max_usage_in_bytes" "/sys/fs/cgroup$1/memory.peak" \
		"/sys/fs/cgroup/unified$1/memory.peak"; do
		if [ -r "$f" ]; then
			cat "$f"
			return
		fi
	done
	echo -
}

# mem_one <size MiB> <iteration>: one guest; appends "size rss_kib anon_kib cg_bytes
# memtotal_kib filled_mib" to $T/raw/memory.txt, or logs why not.
mem_one() {
	local size=$1 i=$2 o=$T/out/memory id cg pid bg deadline out
	id=$PREFIX-mem$size-$i
	cg=/$PREFIX-mem$size-$i
	out=$o/$id.console  # the guest console; not an error log (run.sh scans *.out)
	mkdir -p "$o/b"
	local b=$o/b/$id
	"$MAKE_BUNDLE" "$b" "$TESTKERNEL" unikernelType=linux hypervisor=qemu \
		binary=/boot/vmlinuz initrd=/boot/initrd unikernelVersion >/dev/null
	rm -r "$b/rootfs/unikernel"
	mkdir "$b/rootfs/boot"
	cp "$MEM_KERNEL" "$b/rootfs/boot/vmlinuz"
	cp "$MEM_INITRD" "$b/rootfs/boot/initrd"
	jq --arg cg "$cg" --arg leave "$MEM_LEAVE" '.process.args = ["/memfill", $leave, "hold"]
		| .process.env = [] | del(.linux.resources)
		| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
		| .linux.cgroupsPath = $cg' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	printf '[monitors.qemu]\npath = "%s"\ndefault_memory_mib = %s\n' \
		"$(command -v qemu-system-x86_64)" "$size" >"$o/$size.toml"

	URUNC_CONFIG=$o/$size.toml timeout -k 5 300 "$URUNC" --root "$R_URUNC" run \
		--bundle "$b" --pid-file "$o/$id.pid" "$id" >"$out" 2>"$o/$id.err" </dev/null &
	bg=$!
	deadline=$((SECONDS + 290))
	until grep -aq 'MEMFILL: alive\|MEMFILL: error' "$out" 2>/dev/null; do
		if ! kill -0 "$bg" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			break
		fi
		sleep 0.2
	done
	pid=$(cat "$o/$id.pid" 2>/dev/null || true)
	if grep -aq 'MEMFILL: alive' "$out" && [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
		local rss anon peak total filled
		rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
		anon=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$pid/status")
		peak=$(mem_cgroup_peak "$cg")
		total=$(tr -d '\r' <"$out" | sed -n 's/^MEMFILL: memtotal_kib=\([0-9]*\) .*/\1/p')
		filled=$(tr -d '\r' <"$out" | sed -n 's/^MEMFILL: filled \([0-9]*\) MiB$/\1/p')
		echo "$size $rss $anon $peak $total $filled" >>"$T/raw/memory.txt"
	else
		log "9: guest of $size MiB, run $i: no fill report (see $out, $o/$id.err)"
	fi
	"$URUNC" --root "$R_URUNC" kill "$id" KILL 2>/dev/null || true
	wait "$bg" 2>/dev/null || true
	"$URUNC" --root "$R_URUNC" delete --force "$id" >/dev/null 2>&1 || true
}

m_memory() {
	local S="9. VMM memory overhead (QEMU/TCG, Linux guest filling its RAM)"
	local sizes=${BENCH_MEM_SIZES:-"256 512"} runs=${BENCH_MEM_RUNS:-3} size i
	MEM_LEAVE=${BENCH_MEM_LEAVE:-48}
	log "9: VMM memory overhead, guests of $sizes MiB, $runs run(s) each"
	MEM_KERNEL=$("$REPO/tests/e2e/matrix_linux_kernel.sh") || {
		result_value "$S" "QEMU overhead" "n/a" "" "no Debian cloud kernel"
		return
	}
	MEM_INITRD=$T/memfill-initrd
	"$REPO/tests/e2e/memfill_initrd.sh" "$MEM_INITRD"
	: >"$T/raw/memory.txt"
	for size in $sizes; do
		for ((i = 0; i < runs; i++)); do
			mem_one "$size" "$i"
		done
	done
	# MiB figures per size from the raw lines.
	for size in $sizes; do
		awk -v s="$size" '$1 == s { print $2 / 1024 - s }' "$T/raw/memory.txt" |
			result "$S" "guest $size MiB: peak RSS - guest RAM" MiB \
				"$(awk -v s="$size" '$1 == s { n++; r += $2 / 1024; a += $3 / 1024 - s; t += $5 / 1024; f += $6 }
					END { if (n) printf "mean peak RSS %.0f MiB; anon RSS - guest RAM %.0f MiB; guest kernel sees %.0f MiB, filled %.0f MiB", r / n, a / n, t / n, f / n }' \
					"$T/raw/memory.txt")"
		awk -v s="$size" '$1 == s { print $2 / 1024 - $6 }' "$T/raw/memory.txt" |
			result "$S" "guest $size MiB: peak RSS - guest RAM filled (upper bound)" MiB ""
		awk -v s="$size" '$1 == s && $4 != "-" { print $4 / 1048576 - s }' "$T/raw/memory.txt" |
			result "$S" "guest $size MiB: cgroup peak charge - guest RAM" MiB \
				"the memory cgroup's max usage: what its limit is compared with (shared libraries cached by others are not charged here)"
	done
	# The reserve this suggests: the largest lower-bound overhead + 20%, rounded up to 16 MiB.
	local worst
	worst=$(awk '{ o = $2 / 1024 - $1; if (o > m) m = o } END { print m + 0 }' "$T/raw/memory.txt")
	result_value "$S" "suggested qemu memory_overhead_mib (max overhead + 20%, to 16 MiB)" \
		"$(awk -v m="$worst" 'BEGIN { if (m <= 0) print "-"; else { r = m * 1.2; print 16 * int((r + 15.999) / 16) } }')" \
		MiB "built-in default: 128"
}
