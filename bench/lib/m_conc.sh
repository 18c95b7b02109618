# Metric 5: N parallel create+start (released at one instant), then N parallel
# deletes; success rate, makespan, per-container latency, and what is left
# behind. Each level is repeated ceil(RUNS/N) times (at least 3) so every
# figure has >= RUNS samples per container and >= 3 makespans.

m_conc() {
	local N reps rep first o rc rw rd S="5. Concurrency" ok total left lo
	log "5: concurrency (N = $CONC)"
	for N in $CONC; do
		reps=$(((RUNS + N - 1) / N))
		[ "$reps" -ge 3 ] || reps=3
		rc=$T/raw/conc-$N-create.txt rw=$T/raw/conc-$N-wait.txt rd=$T/raw/conc-$N-delete.txt
		o=$T/out/conc-$N
		mkdir -p "$o"
		for ((rep = 0; rep < reps; rep++)); do
			first=$((rep * N))
			# Each worker: create, start, wait until its VMM runs (so the makespan
			# ends when the last VMM is up); no urunc process may stay resident.
			"$STEPRUN" -s "$first" -n "$N" -p "$N" -t 20 -o "$T/raw/conc.err" -- \
				"@out=$o/%i.out" "$URUNC" --root "$R_URUNC" create --bundle "$T/fb" "$PREFIX-c$N-%i" ::: \
				"$URUNC" --root "$R_URUNC" start "$PREFIX-c$N-%i" ::: \
				@wait "$o/%i.out" "fakevmm: ready" >>"$rc"
			"$STEPRUN" -- @nproc "$URUNC" "$R_URUNC" | sed 's/^R /P /' >>"$rw"
			"$STEPRUN" -s "$first" -n "$N" -p "$N" -o "$T/raw/conc.err" -- \
				"$URUNC" --root "$R_URUNC" delete --force "$PREFIX-c$N-%i" >>"$rd"
		done
		left=$(leftovers "$R_URUNC" "$PREFIX-c$N-[0-9]+")
		total=$((reps * N))
		ok=$(cat "$rc" "$rw" "$rd" | awk '$1 == "R" { seen[$2] = 1; if ($6 != 0) bad[$2] = 1 }
			END { n = 0; for (i in seen) if (!(i in bad)) n++; print n }')
		span_ms "$rc" 0 1 | result "$S" "N=$N: create+start, per container" ms "$reps rounds"
		awk '$1 == "M" { print $2 / 1e6 }' "$rc" | result "$S" "N=$N: makespan until all N VMMs run" ms ""
		step_ms "$rd" 0 | result "$S" "N=$N: delete, per container" ms ""
		awk '$1 == "M" { print $2 / 1e6 }' "$rd" | result "$S" "N=$N: makespan of the N deletes" ms ""
		result_value "$S" "N=$N: success (create, start, VMM up, delete)" "$ok/$total" "" \
			"$(awk -v a="$ok" -v b="$total" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
		read -r m l d c p <<<"$left"
		lo="mounts $m, loop devices $l, state dirs $d, cgroups $c, processes $p"
		result_value "$S" "N=$N: left after delete" "$((m + l + d + c + p))" items "$lo"
		result_value "$S" "N=$N: urunc processes after start (max)" \
			"$(awk '$1 == "P" { if ($6 > m) m = $6 } END { print m + 0 }' "$rw")" count ""
		if [ "$N" = "${CONC##* }" ]; then
			target "N=$N parallel: success, nothing left" "$ok/$total; $lo" "100%, all 0" \
				"$([ "$ok" = "$total" ] && [ $((m + l + d + c + p)) = 0 ] && echo 1 || echo 0)"
		fi
	done
}

# 5b: the same with a block rootfs per container (ext4 on its own loop device,
# mountRootfs, artifacts from one shared snapshot view): create unmounts each
# rootfs from the host while sibling inits are cloning mount namespaces.
m_conc_block() {
	local N=${BLOCK_CONC:-16} reps rep i o=$T/out/concb raw=$T/raw/concb.txt S="5b. Concurrency, block rootfs"
	local ok total left m l d c p reasons
	log "5b: concurrency with a block rootfs each (N = $N)"
	reps=$(((RUNS + N - 1) / N))
	[ "$reps" -ge 3 ] || reps=3
	mkdir -p "$T/cb/src/unikernel" "$T/cb/img" "$T/cb/view" "$o"
	mount -t tmpfs -o size=$((16 * N + 64))m "urunc-bench-cb-$PREFIX" "$T/cb/img"
	register_mount "$T/cb/img"
	cp "$TESTKERNEL" "$T/cb/src/unikernel/kernel"
	truncate -s 8M "$T/cb/img/base.ext4"
	mkfs.ext4 -q -F -d "$T/cb/src" "$T/cb/img/base.ext4"
	LOOP_CBV=$(losetup -f --show -r "$T/cb/img/base.ext4") || die "losetup failed"
	register_loop "$LOOP_CBV"
	register_mount "$T/cb/view"
	mount -o ro "$LOOP_CBV" "$T/cb/view"
	local loops=()
	for ((i = 0; i < N; i++)); do
		cp "$T/cb/img/base.ext4" "$T/cb/img/r$i.ext4"
		loops[i]=$(losetup -f --show "$T/cb/img/r$i.ext4") || die "losetup failed"
		register_loop "${loops[i]}"
		mkdir -p "$T/cb/r$i"
		register_mount "$T/cb/r$i"
		"$MAKE_BUNDLE" "$T/cb/b$i" "$TESTKERNEL" unikernelType=linux unikernelVersion mountRootfs=true \
			"snapshotView=$T/cb/view" >/dev/null
		rm -rf "$T/cb/b$i/rootfs"
		jq --arg r "$T/cb/r$i" '.root.path = $r | .process.args = ["/sbin/init", "fakevmm:exit=0"]' \
			"$T/cb/b$i/config.json" >"$T/cb/c" && mv "$T/cb/c" "$T/cb/b$i/config.json"
	done
	: >"$raw"
	for ((rep = 0; rep < reps; rep++)); do
		for ((i = 0; i < N; i++)); do
			mountpoint -q "$T/cb/r$i" || mount "${loops[i]}" "$T/cb/r$i"
		done
		# Iterations 0..N-1 pick bundle b<i>; renumbered per round for the analysis.
		{
			"$STEPRUN" -n "$N" -p "$N" -t 20 -o "$T/raw/concb.err" -- \
				"@out=$o/$rep-%i.out" "$URUNC" --root "$R_URUNC" create --bundle "$T/cb/b%i" "$PREFIX-k$rep-%i" ::: \
				"$URUNC" --root "$R_URUNC" start "$PREFIX-k$rep-%i" ::: \
				@wait "$o/$rep-%i.out" "fakevmm: ready"
			"$STEPRUN" -n "$N" -p "$N" -o "$T/raw/concb.err" -- \
				"$URUNC" --root "$R_URUNC" delete --force "$PREFIX-k$rep-%i" |
				awk '$1 == "R" { $3 = 9 } { print }'
		} | awk -v b=$((rep * N)) '$1 == "R" { $2 += b } { print }' >>"$raw"
	done
	left=$(leftovers "$R_URUNC" "$PREFIX-k[0-9]+-[0-9]+")
	total=$((reps * N))
	ok=$(awk '$1 == "R" { seen[$2] = 1; if ($6 != 0) bad[$2] = 1 }
		END { n = 0; for (i in seen) if (!(i in bad)) n++; print n }' "$raw")
	reasons=$(cat "$o"/*.out | grep -v -e '^fakevmm: ' -e 'level=' |
		sed -E 's/`[^`]*`/X/g; s/ \(pid [^)]*\)//' | sort | uniq -c | sort -rn | head -2 |
		awk '{ $1 = $1 "x"; print }' | paste -sd';' || true)
	span_ms "$raw" 0 1 | result "$S" "N=$N: create+start, per container" ms "$reps rounds"
	result_value "$S" "N=$N: success (create, start, VMM up, delete)" "$ok/$total" "" \
		"$(awk -v a="$ok" -v b="$total" 'BEGIN { printf "%.1f%%", 100 * a / b }')${reasons:+; failures: $reasons}"
	read -r m l d c p <<<"$left"
	result_value "$S" "N=$N: left after delete" "$((m + l + d + c + p))" items \
		"mounts $m, loop devices $l, state dirs $d, cgroups $c, processes $p"
	target "(extra) N=$N parallel with a block rootfs each: success" "$ok/$total" "100%" \
		"$([ "$ok" = "$total" ] && echo 1 || echo 0)"
}
