# Metric 8: a real boot of the test kernel under QEMU/TCG through `urunc run`,
# against QEMU started by hand with the very argv urunc builds (read from the
# fake VMM's record of a run in the same conditions), and against the same QEMU
# started by bench/nsexec.c, which does only what the kernel charges any runtime
# for this container (its five namespaces, a cgroup in every hierarchy, their
# teardown): nsexec - by hand is the kernel's share, urunc run - nsexec is
# urunc's own. For scale, the same QEMU as the process of a runc and of a crun
# container (its root an empty directory with the host's /usr and /etc bound
# read-only): what a real boot costs through the runtimes urunc is compared
# with everywhere else. Interleaved: each iteration boots once each way.

S_BOOT="8. Real boot under QEMU/TCG"

# /dev/kvm stays as the host has it: urunc's probe picks KVM or TCG, and QEMU by
# hand gets the same accelerator through the argv urunc built.

# boot_pair FILE STEP_A STEP_B LABEL: records step A - step B boot by boot (median and
# its 95% interval) and prints "MEDIAN LO HI".
boot_pair() {
	local m lo hi
	read -r m lo hi < <(paired_ms "$1" "$2" "$3" "$WARMUP" | median_ci)
	result_value "$S_BOOT" "$4, boot by boot (median)" "$m" ms "95% confidence interval of the median: $lo to $hi ms"
	echo "$m $lo $hi"
}

m_boot() {
	local S=$S_BOOT o=$T/out/boot argv=() qemu kernel i raw=$T/raw/boot.txt
	local peers=$T/raw/boot-peers.txt
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

	# qc: that QEMU as the process of a runc or crun container: runc's and crun's
	# bundle rb (fixtures.sh, the namespaces of urunc's bundle) with an empty root that
	# gets the host's /usr and /etc and the kernel's directory, read-only. Merged /usr:
	# /lib, /lib64 and /bin are links into it.
	mkdir -p "$T/qc/rootfs"
	ln -s usr/lib "$T/qc/rootfs/lib"
	ln -s usr/lib64 "$T/qc/rootfs/lib64"
	ln -s usr/bin "$T/qc/rootfs/bin"
	# (jq 1.6 would read QEMU's options as its own after --args: the argv goes as JSON.)
	printf '%s\n' "${argv[@]}" | jq -R . | jq -s --arg k "$T/qb" --slurpfile c "$T/rb/config.json" \
		'. as $a | $c[0] | .process.args = $a
	    | .mounts += [{"destination":"/usr","type":"bind","source":"/usr","options":["rbind","ro"]},
	                  {"destination":"/etc","type":"bind","source":"/etc","options":["rbind","ro"]},
	                  {"destination":$k,"type":"bind","source":$k,"options":["rbind","ro"]}]' \
		>"$T/qc/config.json"

	# The real QEMU this time: no URUNC_CONFIG.
	(
		unset URUNC_CONFIG
		"$STEPRUN" -n "$n" -o "$T/raw/boot.log" -t 60 -- \
			"$URUNC" --root "$R_URUNC" run --bundle "$T/qb" "$PREFIX-q%i" ::: \
			"${argv[@]}" ::: \
			"$NSEXEC" "$PREFIX-n%i" -- "${argv[@]}" >"$raw"
		# runc and crun in a series of their own: their teardown (cgroups, namespaces,
		# finished by kernel workers after they exit) must not land in the boots the
		# target compares.
		"$STEPRUN" -n "$n" -o "$T/raw/boot-peers.log" -t 60 -- \
			runc --root "$R_RUNC" run --bundle "$T/qc" "$PREFIX-qr%i" ::: \
			"${argv[@]}" ::: \
			"${CRUN_NS[@]}" "${argv[@]}" ::: \
			"${CRUN_NS[@]}" crun --root "$R_CRUN" run --bundle "$T/qc" "$PREFIX-qc%i" >"$peers"
	)
	booted=$(cat "$T/raw/boot.log" "$T/raw/boot-peers.log" | grep -c 'URUNC-TESTKERNEL: exiting' || true)
	step_ms "$raw" 0 "$WARMUP" | result "$S" "urunc run (create, start, boot, exit, delete)" ms \
		"failed runs: $(failures "$raw" 0); guests that printed their exit line: $booted/$((7 * n))"
	step_ms "$raw" 1 "$WARMUP" | result "$S" "QEMU by hand, same argv" ms "failed runs: $(failures "$raw" 1)"
	step_ms "$raw" 2 "$WARMUP" | result "$S" "QEMU in the container's namespaces and cgroups, no runtime (nsexec)" ms \
		"failed runs: $(failures "$raw" 2)"
	a=$(p50_of "$S" "urunc run (create, start, boot, exit, delete)")
	b=$(p50_of "$S" "QEMU by hand, same argv")
	k=$(p50_of "$S" "QEMU in the container's namespaces and cgroups, no runtime (nsexec)")
	step_ms "$peers" 0 "$WARMUP" | result "$S" "runc run, the same QEMU as its process (own series)" ms "failed runs: $(failures "$peers" 0)"
	step_ms "$peers" 1 "$WARMUP" | result "$S" "QEMU by hand (runc's and crun's series)" ms "failed runs: $(failures "$peers" 1)"
	step_ms "$peers" 2 "$WARMUP" | result "$S" "QEMU by hand in crun's wrapper" ms "failed runs: $(failures "$peers" 2)"
	step_ms "$peers" 3 "$WARMUP" | result "$S" "crun run (in its wrapper), the same QEMU as its process" ms "failed runs: $(failures "$peers" 3)"
	result_value "$S" "the kernel's share: nsexec - QEMU by hand (p50)" \
		"$(awk -v k="$k" -v b="$b" 'BEGIN { if (k == "-" || b == "-") print "-"; else printf "%.2f", k - b }')" ms \
		"what any runtime pays here for these namespaces and cgroups"
	result_value "$S" "urunc's own share: urunc run - nsexec (p50)" \
		"$(awk -v a="$a" -v k="$k" 'BEGIN { if (a == "-" || k == "-") print "-"; else printf "%.2f", a - k }')" ms \
		"its process, spec, state, monitor root, exec fifo and delete"
	# The same differences boot by boot: each guest's boot varies by several ms under TCG,
	# so a difference of two p50s moves by ±1-2 ms between runs; the pairs show how far
	# the figure above can be trusted.
	local pm plo phi cm
	read -r pm plo phi < <(boot_pair "$raw" 0 1 "urunc run - QEMU by hand")
	boot_pair "$raw" 2 1 "nsexec - QEMU by hand" >/dev/null
	boot_pair "$raw" 0 2 "urunc run - nsexec" >/dev/null
	boot_pair "$peers" 0 1 "runc run - QEMU by hand" >/dev/null
	# crun's beside QEMU in crun's wrapper, whose own cost (unshare, sh, umount: a few ms)
	# drops out of the difference.
	read -r cm _ < <(boot_pair "$peers" 3 2 "crun run - QEMU in crun's wrapper")
	target "urunc run of a real boot vs QEMU by hand (p50)" "$a vs $b ms (+$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a - b }') ms; boot by boot +$pm ms, 95% CI $plo to $phi)" \
		"<= QEMU + 5 ms" "$(fcmp "$a" "<=" "$(awk -v b="$b" 'BEGIN { if (b == "-") print "-"; else print b + 5 }')")"
	target "(extra) a real boot's cost over QEMU vs crun's, boot by boot (median)" \
		"+$pm ms = $(ratio "$pm" "$cm")x crun's (+$cm ms)" "<= 0.5x" \
		"$(fcmp "$(ratio "$pm" "$cm")" "<=" 0.5)"
	result_value "$S" "runtime's share of a real boot (p50)" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f%%", 100 * (a - b) / a }')" \
		"" "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "-" && b != "-") printf "%.2f ms of %.2f ms", a - b, a }')"
}
