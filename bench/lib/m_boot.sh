# Metric 8: a real boot of the test kernel under QEMU/TCG through `urunc run`,
# against QEMU started by hand with the very argv urunc builds (read from the
# fake VMM's record of a run in the same conditions), and against the same QEMU
# started by bench/nsexec.c, which does only what the kernel charges any runtime
# for this container (its five namespaces, a cgroup in every hierarchy, their
# teardown): nsexec - by hand is the kernel's share, urunc run - nsexec is
# urunc's own. Interleaved: each iteration boots once each way.

# /dev/kvm stays as the host has it: urunc's probe picks KVM or TCG, and QEMU by
# hand gets the same accelerator through the argv urunc built.

m_boot() {
	local S="8. Real boot under QEMU/TCG" o=$T/out/boot argv=() qemu kernel i raw=$T/raw/boot.txt
	local n=$((WARMUP + RUNS)) booted a b k
	log "8: real boots, urunc run vs QEMU by hand ($RUNS each)"
	mkdir -p "$o"
	"$MAKE_BUNDLE" "$T/qb" "$TESTKERNEL" >/dev/null
	kernel=$T/qb/rootfs/unikernel/kernel

	# The argv, as the fake VMM received it in the same namespace setup.
	"$STEPRUN" -o "$T/raw/boot-argv.err" -- \
		"@out=$o/argv.out" "$URUNC" --root "$R_URUNC" create --bundle "$T/qb" "$PREFIX-qa" ::: \
		"$URUNC" --root "$R_URUNC" start "$PREFIX-qa" ::: \
		@wait "$o/argv.out" "fakevmm: ready" ::: \
		@always "$URUNC" --root "$R_URUNC" delete --force "$PREFIX-qa" >/dev/null
	mapfile -t argv < <(grep '^fakevmm: argv\[' "$o/argv.out" | sed -E 's/^fakevmm: argv\[[0-9]+\]=//')
	if [ ${#argv[@]} -eq 0 ]; then
		result_value "$S" "QEMU argv" "n/a" "" "no argv recorded by the fake VMM"
		return
	fi
	qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found"
	argv[0]=$qemu
	for i in "${!argv[@]}"; do
		argv[$i]=${argv[$i]//\/.urunc\/kernel/$kernel}
	done
	printf '%q ' "${argv[@]}" >"$T/raw/boot-argv.txt"

	# The real QEMU this time: no URUNC_CONFIG.
	(
		unset URUNC_CONFIG
		"$STEPRUN" -n "$n" -o "$T/raw/boot.log" -t 60 -- \
			"$URUNC" --root "$R_URUNC" run --bundle "$T/qb" "$PREFIX-q%i" ::: \
			"${argv[@]}" ::: \
			"$NSEXEC" "$PREFIX-n%i" -- "${argv[@]}" >"$raw"
	)
	booted=$(grep -c 'URUNC-TESTKERNEL: exiting' "$T/raw/boot.log" || true)
	step_ms "$raw" 0 "$WARMUP" | result "$S" "urunc run (create, start, boot, exit, delete)" ms \
		"failed runs: $(failures "$raw" 0); guests that printed their exit line: $booted/$((3 * n))"
	step_ms "$raw" 1 "$WARMUP" | result "$S" "QEMU by hand, same argv" ms "failed runs: $(failures "$raw" 1)"
	step_ms "$raw" 2 "$WARMUP" | result "$S" "QEMU in the container's namespaces and cgroups, no runtime (nsexec)" ms \
		"failed runs: $(failures "$raw" 2)"
	a=$(p50_of "$S" "urunc run (create, start, boot, exit, delete)")
	b=$(p50_of "$S" "QEMU by hand, same argv")
	k=$(p50_of "$S" "QEMU in the container's namespaces and cgroups, no runtime (nsexec)")
	result_value "$S" "the kernel's share: nsexec - QEMU by hand (p50)" \
		"$(awk -v k="$k" -v b="$b" 'BEGIN { if (k == "-" || b == "-") print "-"; else printf "%.2f", k - b }')" ms \
		"what any runtime pays here for these namespaces and cgroups"
	result_value "$S" "urunc's own share: urunc run - nsexec (p50)" \
		"$(awk -v a="$a" -v k="$k" 'BEGIN { if (a == "-" || k == "-") print "-"; else printf "%.2f", a - k }')" ms \
		"its process, spec, state, monitor root, exec fifo and delete"
	target "urunc run of a real boot vs QEMU by hand (p50)" "$a vs $b ms (+$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a - b }') ms)" \
		"<= QEMU + 5 ms" "$(fcmp "$a" "<=" "$(awk -v b="$b" 'BEGIN { if (b == "-") print "-"; else print b + 5 }')")"
	result_value "$S" "runtime's share of a real boot (p50)" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f%%", 100 * (a - b) / a }')" \
		"" "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "-" && b != "-") printf "%.2f ms of %.2f ms", a - b, a }')"
}
