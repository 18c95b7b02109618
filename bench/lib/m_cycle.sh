# Metric 2: full cycle create + start + delete, urunc (fake VMM exiting 0 at
# once) against runc and crun (busybox /bin/true), interleaved in rounds so a
# burst of load from other users of the machine hits all three alike.

# round_range R -> "FIRST N": iterations of round R; round 0 also does the warm-up.
round_range() {
	local per=$(((RUNS + ROUNDS - 1) / ROUNDS)) r=$1 first n
	if [ "$r" = 0 ]; then
		first=0 n=$((WARMUP + per))
	else
		first=$((WARMUP + r * per)) n=$per
	fi
	[ $((first + n)) -le $((WARMUP + RUNS)) ] || n=$((WARMUP + RUNS - first))
	[ "$n" -gt 0 ] || n=0
	echo "$first $n"
}

# crun under its wrapper (CRUN_NS, common.sh).
in_crun_ns() { "${CRUN_NS[@]}" "$@"; }

# runtime_of RT URUNC_BUNDLE OTHER_BUNDLE: sets bin, root, wrap (the command prefix it runs
# under) and bundle (urunc's or the one runc and crun share) for runtime RT.
runtime_of() {
	bin=$1 wrap=() bundle=$3
	[ "$1" = urunc ] && bundle=$2
	case $1 in
	urunc) bin=$URUNC root=$R_URUNC ;;
	runc) root=$R_RUNC ;;
	crun) root=$R_CRUN wrap=(in_crun_ns) ;;
	esac
}

# interleaved BLOCK RT...: BLOCK RT FIRST N for each runtime, round after round, so a burst
# of load from other users of the machine hits every runtime alike.
interleaved() {
	local block=$1 r rt first n
	shift
	for ((r = 0; r < ROUNDS; r++)); do
		read -r first n < <(round_range "$r")
		[ "$n" -gt 0 ] || continue
		for rt in "$@"; do
			"$block" "$rt" "$first" "$n"
		done
	done
}

# Each create's output (for urunc: the fake VMM's record, with its entry time) in a file of
# its own, for every runtime alike.
cycle_block() {
	local rt=$1 first=$2 n=$3 bin root wrap bundle id="$PREFIX-y$1-%i"
	runtime_of "$rt" "$T/fx" "$T/rb"
	mkdir -p "$T/out/cycle-$rt"
	"${wrap[@]}" "$STEPRUN" -s "$first" -n "$n" -o "$T/raw/cycle-$rt.err" -- \
		"@out=$T/out/cycle-$rt/%i.out" "$bin" --root "$root" create --bundle "$bundle" "$id" ::: \
		"$bin" --root "$root" start "$id" ::: \
		@always "$bin" --root "$root" delete --force "$id" >>"$T/raw/cycle-$rt.txt"
}

m_cycle() {
	local rt fn S="2. Full cycle create+start+delete"
	log "2: full cycle, urunc vs runc vs crun ($RUNS runs each, $ROUNDS interleaved rounds)"
	interleaved cycle_block urunc runc crun
	for rt in urunc runc crun; do
		fn=$T/raw/cycle-$rt.txt
		span_ms "$fn" 0 2 "$WARMUP" | result "$S" "$rt: create+start+delete" ms "failed runs: $(failures "$fn" 0 1 2)"
	done
	for rt in urunc runc crun; do
		fn=$T/raw/cycle-$rt.txt
		step_ms "$fn" 0 "$WARMUP" | result "$S" "$rt: create" ms ""
		step_ms "$fn" 1 "$WARMUP" | result "$S" "$rt: start" ms ""
		step_ms "$fn" 2 "$WARMUP" | result "$S" "$rt: delete --force" ms ""
	done
	# Peak RSS of the peers' commands, as a reference for metric 6.
	local S6="6. Peak RSS and resident processes" st names=(create start delete)
	for rt in runc crun; do
		for st in 0 1 2; do
			awk -v s="$st" -v w="$WARMUP" '$1 == "R" && $3 == s && $2 >= w { print $7 / 1024 }' \
				"$T/raw/cycle-$rt.txt" | result "$S6" "reference, peak RSS: $rt ${names[$st]}" MiB "from section 2"
		done
	done
	local u c g
	u=$(p50_of "$S" "urunc: create+start+delete")
	c=$(p50_of "$S" "crun: create+start+delete")
	g=$(p50_of "$S" "runc: create+start+delete")
	target "full cycle p50 vs crun (same run)" "$u ms = $(ratio "$u" "$c")x crun ($c ms)" "<= 0.5x" \
		"$(fcmp "$u" "<=" "$(scale "$c" 0.5)")"
	target "full cycle p50 vs runc (same run)" "$u ms = $(ratio "$u" "$g")x runc ($g ms)" "<= 0.2x" \
		"$(fcmp "$u" "<=" "$(scale "$g" 0.2)")"
	m_cycle_vs_crun
	m_verbs
}

# 2b: state and kill of a running container against crun's: urunc's fake VMM waits, crun's
# container runs busybox `sleep 300`; create, start, state, kill KILL, delete --force,
# interleaved in rounds like the cycle.
verbs_block() {
	local rt=$1 first=$2 n=$3 bin root wrap bundle id="$PREFIX-v$1-%i"
	runtime_of "$rt" "$T/fb" "$T/rs"
	"${wrap[@]}" "$STEPRUN" -s "$first" -n "$n" -o "$T/raw/verbs-$rt.err" -- \
		@out=/dev/null "$bin" --root "$root" create --bundle "$bundle" "$id" ::: \
		"$bin" --root "$root" start "$id" ::: \
		@out=/dev/null "$bin" --root "$root" state "$id" ::: \
		@always "$bin" --root "$root" kill "$id" KILL ::: \
		@always "$bin" --root "$root" delete --force "$id" >>"$T/raw/verbs-$rt.txt"
}

m_verbs() {
	local rt fn S="2b. state and kill of a running container" u c name
	log "2b: state and kill of a running container, urunc vs crun ($RUNS runs each)"
	interleaved verbs_block urunc crun
	for rt in urunc crun; do
		fn=$T/raw/verbs-$rt.txt
		step_ms "$fn" 2 "$WARMUP" | result "$S" "$rt: state" ms "failed runs: $(failures "$fn" 0 1 2 3 4)"
		step_ms "$fn" 3 "$WARMUP" | result "$S" "$rt: kill KILL" ms ""
	done
	for name in state "kill KILL"; do
		u=$(p50_of "$S" "urunc: $name")
		c=$(p50_of "$S" "crun: $name")
		target "${name%% *} p50 vs crun's (same run, running container)" "$u ms = $(ratio "$u" "$c")x crun ($c ms)" \
			"<= 0.5x" "$(fcmp "$u" "<=" "$(scale "$c" 0.5)")"
	done
}

# Targets against crun's own verbs of the same run: create -> VMM against crun's create +
# start, both from the cycle's interleaved rounds (the fake VMM's entry time from its record),
# delete against crun's delete (both of a container whose process has exited), the peak RSS
# of every urunc command against crun's largest. (crun's state and kill are not measured:
# its container, /bin/true, is gone by then.) Section 1's create -> VMM, measured a minute
# earlier in a block of its own, is set beside crun's for reference.
m_cycle_vs_crun() {
	local S="2. Full cycle create+start+delete" fn=$T/raw/cycle-crun.txt o cs d cd rss crss
	span_ms "$fn" 0 1 "$WARMUP" | result "$S" "crun: create+start" ms "interleaved with urunc's"
	vmm_overhead_ms "$T/raw/cycle-urunc.txt" "$T/out/cycle-urunc" "$WARMUP" |
		result "$S" "urunc: create invoked -> VMM exec'ed (incl. start)" ms "interleaved with crun's"
	cs=$(p50_of "$S" "crun: create+start")
	o=$(p50_of "$S" "urunc: create invoked -> VMM exec'ed (incl. start)")
	target "create invoked -> VMM exec'ed p50 vs crun create+start (same rounds)" \
		"$o ms = $(ratio "$o" "$cs")x crun ($cs ms)" "<= 0.5x" "$(fcmp "$o" "<=" "$(scale "$cs" 0.5)")"
	o=$(p50_of "1. Runtime overhead" "create invoked -> VMM exec'ed (incl. start)")
	[ -z "$o" ] || result_value "$S" "section 1's create -> VMM vs this crun create+start" \
		"$(ratio "$o" "$cs")x" "" "$o vs $cs ms, measured a minute apart"
	d=$(p50_of "$S" "urunc: delete --force")
	cd=$(p50_of "$S" "crun: delete --force")
	target "delete --force p50 vs crun's (same run)" "$d ms = $(ratio "$d" "$cd")x crun ($cd ms)" "<= 0.5x" \
		"$(fcmp "$d" "<=" "$(scale "$cd" 0.5)")"
	crss=$(awk -v w="$WARMUP" '$1 == "R" && $2 >= w { if ($7 > m) m = $7 } END { printf "%.3f", m / 1024 }' "$fn")
	local files=("$T/raw/cycle-urunc.txt")
	[ -f "$T/raw/overhead.txt" ] && files+=("$T/raw/overhead.txt")
	rss=$(awk -v w="$WARMUP" '$1 == "R" && $2 >= w { if ($7 > m) m = $7 } END { printf "%.3f", m / 1024 }' \
		"${files[@]}")
	target "peak RSS of any urunc command vs crun's (max)" "$rss MiB (crun $crss MiB)" "<= crun" \
		"$(fcmp "$rss" "<=" "$crss")"
}
