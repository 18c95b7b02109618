# Metrics 1 (runtime overhead) and 6 (peak RSS, resident processes); the
# optional per-phase breakdown from urunc's built-in timestamps.

# One iteration: create, start, wait for the fake VMM's record, count urunc
# processes left on our state root, state, kill, delete.
m_overhead() {
	local raw=$T/raw/overhead.txt o=$T/out/overhead id="$PREFIX-o-%i" n=$((WARMUP + RUNS)) c
	local u=("$URUNC" --root "$R_URUNC")
	mkdir -p "$o"
	log "1/6: overhead and peak RSS ($RUNS runs after $WARMUP warm-up)"
	"$STEPRUN" -n "$n" -o "$T/raw/overhead.err" -- \
		"@out=$o/%i.out" "${u[@]}" create --bundle "$T/fb" "$id" ::: \
		"${u[@]}" start "$id" ::: \
		@wait "$o/%i.out" "fakevmm: ready" ::: \
		@nproc "$URUNC" "$R_URUNC" ::: \
		@out=/dev/null "${u[@]}" state "$id" ::: \
		@always "${u[@]}" kill "$id" TERM ::: \
		@always "${u[@]}" delete --force "$id" >"$raw"

	local S="1. Runtime overhead" note
	note="failed runs: $(failures "$raw" 0 1 2 4 5 6)"
	vmm_overhead_ms "$raw" "$o" "$WARMUP" | result "$S" "create invoked -> VMM exec'ed (incl. start)" ms "$note"
	local ov
	ov=$(p50_of "$S" "create invoked -> VMM exec'ed (incl. start)")
	target "overhead p50: create invoked -> VMM exec'ed" "$ov ms" "<= 3 ms" "$(fcmp "$ov" "<=" 3)"
	step_ms "$raw" 0 "$WARMUP" | result "$S" "urunc create" ms ""
	local c50 c95
	c50=$(p50_of "$S" "urunc create")
	c95=$(col_of "$S" "urunc create" 5)
	target "create p95 within 2x its p50" "p95 $c95 ms, p50 $c50 ms ($(ratio "$c95" "$c50")x)" "<= 2x" \
		"$(fcmp "$c95" "<=" "$(scale "$c50" 2)")"
	step_ms "$raw" 1 "$WARMUP" | result "$S" "urunc start" ms ""
	step_ms "$raw" 4 "$WARMUP" | result "$S" "urunc state" ms ""
	step_ms "$raw" 5 "$WARMUP" | result "$S" "urunc kill" ms ""
	step_ms "$raw" 6 "$WARMUP" | result "$S" "urunc delete --force" ms ""
	"$STEPRUN" -n "$RUNS" -- true | awk '$1 == "R" && $6 == 0 { print $5 / 1e6 }' |
		result "$S" "reference: spawn+wait of /bin/true" ms "the timer's own floor"

	S="6. Peak RSS and resident processes"
	local names=([0]=create [1]=start [4]=state [5]=kill [6]=delete) st
	for st in 0 1 4 5 6; do
		awk -v s="$st" -v w="$WARMUP" '$1 == "R" && $3 == s && $2 >= w { print $7 / 1024 }' "$raw" |
			result "$S" "peak RSS: urunc ${names[$st]}" MiB "wait4 ru_maxrss"
	done
	local worst
	worst=$(awk -v w="$WARMUP" '$1 == "R" && $2 >= w && ($3 == 0 || $3 == 1 || $3 >= 4) { if ($7 > m) m = $7 }
		END { printf "%.3f", m / 1024 }' "$raw")
	target "peak RSS of any urunc command (max)" "$worst MiB" "<= 4 MiB" "$(fcmp "$worst" "<=" 4)"
	c=$(awk -v w="$WARMUP" '$1 == "R" && $3 == 3 && $2 >= w { if ($6 > m) m = $6 } END { print m + 0 }' "$raw")
	result_value "$S" "urunc processes left after start (max over runs)" "$c" count "exe = urunc, cmdline names our root"
	m_vmm_is_init
}

# After start the container's pid must be the VMM itself (the init became it).
m_vmm_is_init() {
	local id="$PREFIX-pid" pid exe ok=0 S="6. Peak RSS and resident processes"
	"$URUNC" --root "$R_URUNC" create --bundle "$T/fb" "$id" >"$T/out/pid.out" 2>&1 &&
		"$URUNC" --root "$R_URUNC" start "$id" &&
		pid=$("$URUNC" --root "$R_URUNC" state "$id" | jq -r .pid) &&
		exe=$(readlink "/proc/$pid/exe") && [ "$exe" = "$FAKEVMM" ] && ok=1
	"$URUNC" --root "$R_URUNC" delete --force "$id" >/dev/null 2>&1 || true
	result_value "$S" "container pid is the VMM after start" "$([ $ok = 1 ] && echo yes || echo no)" "" \
		"readlink /proc/<state pid>/exe = fake VMM"
	target "no urunc process left after start; pid is the VMM" \
		"$(col_of "$S" "urunc processes left after start (max over runs)" 4), pid=VMM: $ok" "0, yes" \
		"$([ "$(col_of "$S" "urunc processes left after start (max over runs)" 4)" = 0 ] && [ $ok = 1 ] && echo 1 || echo 0)"
}

# Per-phase breakdown from URUNC_TIMESTAMPS (CLOCK_REALTIME marks written by
# create, the init and start), ending at the fake VMM's own start_real_ns. Each
# mark is shown as its offset from TS00 (create invoked): create and the init
# run concurrently, so differences between consecutive marks would mix them.
m_timestamps() {
	local raw=$T/raw/timestamps.txt o=$T/out/ts id="$PREFIX-t-%i" n=$((WARMUP + RUNS))
	local u=("$URUNC" --root "$R_URUNC") S="1b. Phases (URUNC_TIMESTAMPS)"
	mkdir -p "$o"
	log "1b: per-phase breakdown with URUNC_TIMESTAMPS=1 ($RUNS runs)"
	URUNC_TIMESTAMPS=1 URUNC_TIMESTAMPS_FILE=$T/raw/timestamps.log \
		"$STEPRUN" -n "$n" -o "$T/raw/timestamps.err" -- \
		"@out=$o/%i.out" "${u[@]}" create --bundle "$T/fb" "$id" ::: \
		"${u[@]}" start "$id" ::: \
		@wait "$o/%i.out" "fakevmm: ready" ::: \
		@always "${u[@]}" delete --force "$id" >"$raw"
	if [ ! -s "$T/raw/timestamps.log" ]; then
		result_value "$S" "timestamps" "n/a" "" "runtime wrote no timestamps"
		return
	fi
	vmm_overhead_ms "$raw" "$o" "$WARMUP" | result "$S" "overhead with timestamps on" ms ""
	# "<container> <mark> <offset ms from TS00>", the VMM's entry as a last mark.
	{
		jq -r '"\(.containerID) \(.timestampID):\(.timestampName) \(.time)"' "$T/raw/timestamps.log"
		grep -H '^fakevmm: start_real_ns=' "$o"/*.out |
			sed -E "s|.*/([0-9]+)\.out:fakevmm: start_real_ns=([0-9]+)|$PREFIX-t-\1 VMM:entry \2|"
	} | awk -v w="$WARMUP" '{ split($1, p, "-"); if (p[3] + 0 >= w) print }' |
		awk '{ t[$1 " " $2] = $3; if ($2 ~ /^TS00:/) t0[$1] = $3 }
			END { for (k in t) { split(k, p, " "); if (p[1] in t0) printf "%s\t%.6f\n", p[2], (t[k] - t0[p[1]]) / 1e6 } }' \
		>"$T/raw/phases.tsv"
	local label
	# Marks in the order of their median offset.
	sort -t$'\t' -k1,1 -k2,2g "$T/raw/phases.tsv" |
		awk -F'\t' '{ v[$1] = v[$1] " " $2; n[$1]++ }
			END { for (k in v) { split(substr(v[k], 2), a, " "); print a[int((n[k] + 1) / 2)] "\t" k } }' |
		sort -g | cut -f2 | while IFS= read -r label; do
		awk -F'\t' -v l="$label" '$1 == l { print $2 }' "$T/raw/phases.tsv" |
			result "$S" "$label (offset from TS00)" ms ""
	done
}
